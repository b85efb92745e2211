/**
 * Which limit a failed run points to: the kernel's rlimit signals (SIGXCPU, SIGXFSZ, read back
 * from bwrap's exit code), the pids cgroup's refused forks, and the error codes a limit gives
 * the tool (EFBIG, ENOSPC in the private /tmp tmpfs, EMFILE). The error codes are the tool's
 * word; a `resource_limit` is never a grant, and the limit it names is the caller's own setting.
 */
import { errorChain as chain, type ErrorLink } from '../errors/error-link.js';
import type { LimitName } from '../errors/tool-execution-error.js';
import { reportedPath, spawnTarget } from './reported-error.js';
import { inPrivateTmp, PRIVATE_TMP } from './sandbox-view.js';
import type { LimitReport, ResolvedPermissions } from './types.js';

/** Which rlimit a run hit, from how it ended and what it threw. */
export interface LimitHint {
  readonly limit: LimitName;
  readonly detail: string;
}

/** The private /tmp as a limit: its size, and what is not part of it (the grants). */
export interface ScratchHint {
  /** `limits.tmpMb`, when the tmpfs is sized (enforcement.tmp.limitMb). */
  readonly limitMb: number | undefined;
  readonly permissions: Pick<ResolvedPermissions, 'read' | 'write'>;
}

// How a failed run ended and what it threw, with the limits that were set.
interface LimitEnd {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly error: ErrorLink | undefined;
  readonly report: LimitReport;
  readonly limits?: { readonly cpuSeconds?: number | undefined; readonly maxFileSizeMb?: number };
  readonly scratch?: ScratchHint;
  /** RLIMIT_DATA in MiB where it bounds memory (no memory cgroup: enforcement.memory). */
  readonly memoryRlimitMb?: number | undefined;
}

/**
 * The limit a kill or an error points to: SIGXCPU → `cpu`, SIGXFSZ or EFBIG → `file_size`,
 * ENOSPC in the private /tmp tmpfs (`scratch`, only when there is one) → `disk`, EMFILE/ENFILE
 * → `open_files`, EAGAIN on a fork while the pids cgroup refused one → `processes`. Under bwrap
 * a signal death of Bun reaches us as exit code 128 + signal (bwrap's init reports it so),
 * which is read back here.
 */
export function limitHint(end: LimitEnd): LimitHint | undefined {
  const signal = end.signal ?? signalOfExitCode(end.exitCode);
  const codes = end.error === undefined ? [] : chain(end.error).map((l) => l.code ?? '');
  return (
    memoryRlimitHint(end) ??
    cpuHint(end, signal) ??
    fileSizeHint(end, signal, codes) ??
    scratchHint(end) ??
    openFilesHint(codes) ??
    processesHint(end)
  );
}

// Under RLIMIT_DATA Bun throws `RangeError: Out of memory`: the tool's word, so the kind is
// `resource_limit` (the caller's own limit), never `out_of_memory` (a cgroup's fact).
function memoryRlimitHint(end: LimitEnd): LimitHint | undefined {
  if (
    end.memoryRlimitMb === undefined ||
    end.error === undefined ||
    !chain(end.error).some((l) => /\bOut of memory\b/.test(`${l.name}: ${l.message}`))
  ) {
    return undefined;
  }
  return {
    limit: 'memory',
    detail: `RLIMIT_DATA of ${end.memoryRlimitMb} MiB, as Bun reported it: no memory cgroup here`,
  };
}

function cpuHint(end: LimitEnd, signal: string | undefined): LimitHint | undefined {
  if (signal !== 'SIGXCPU') return undefined;
  const cpu = end.limits?.cpuSeconds;
  return { limit: 'cpu', detail: cpu === undefined ? 'SIGXCPU' : `${cpu} CPU seconds` };
}

function fileSizeHint(
  end: LimitEnd,
  signal: string | undefined,
  codes: readonly string[],
): LimitHint | undefined {
  if (signal !== 'SIGXFSZ' && !codes.includes('EFBIG')) return undefined;
  const fsize = end.limits?.maxFileSizeMb;
  return {
    limit: 'file_size',
    detail: fsize === undefined ? 'RLIMIT_FSIZE' : `${fsize} MiB per file`,
  };
}

// A full /tmp tmpfs; an ENOSPC elsewhere (a granted host path) is the host's disk, not ours.
// Bun reports ENOSPC of a write(2) on a descriptor without a path.
function scratchHint(end: LimitEnd): LimitHint | undefined {
  if (end.scratch === undefined || end.error === undefined) return undefined;
  const { limitMb, permissions } = end.scratch;
  const full = chain(end.error).some((l) => {
    if (l.code !== 'ENOSPC') return false;
    const path = reportedPath(l);
    return path === undefined || inPrivateTmp(path, permissions);
  });
  if (!full) return undefined;
  return {
    limit: 'disk',
    detail:
      limitMb === undefined
        ? `the private ${PRIVATE_TMP} is full`
        : `${limitMb} MiB in ${PRIVATE_TMP}`,
  };
}

function openFilesHint(codes: readonly string[]): LimitHint | undefined {
  if (!codes.includes('EMFILE') && !codes.includes('ENFILE')) return undefined;
  return { limit: 'open_files', detail: 'too many open files' };
}

// EAGAIN (or EPERM) on a fork while the pids cgroup refused one.
function processesHint(end: LimitEnd): LimitHint | undefined {
  if (!end.report.processesExceeded || end.error === undefined) return undefined;
  const forkFailed = chain(end.error).some(
    (l) => (l.code === 'EAGAIN' || l.code === 'EPERM') && spawnTarget(l) !== undefined,
  );
  return forkFailed
    ? { limit: 'processes', detail: 'the process limit refused a fork' }
    : undefined;
}

/** SIGXCPU for 152 and so on: how bwrap's init reports a child killed by a signal. */
export function signalOfExitCode(code: number | null): string | undefined {
  if (code === null || code <= 128 || code > 128 + 64) return undefined;
  return SIGNALS[code - 128];
}

// Linux signal numbers (x86_64 and arm64 agree on these).
const SIGNALS: Readonly<Record<number, string>> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  31: 'SIGSYS',
};
