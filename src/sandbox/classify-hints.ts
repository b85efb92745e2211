/**
 * What the sandbox can tell about a failed tool: whether its error is the sandbox saying no
 * (and to what: "read of /etc/passwd", "connect to 127.0.0.1:8080", "spawn of sh", with the
 * grant that would allow it), and which limit a kill or an error points to. Pure but for one
 * question asked of the host (does an ungranted path under /tmp exist there?), which
 * {@link explainFailure} answers by default; `src/errors/classify.ts` decides the kind with it.
 */
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LimitName } from '../errors/tool-execution-error.js';
import { isInside } from './permissions.js';
import type { NetworkActivity } from '../network/ledger.js';
import type { Enforcement, LimitReport, ResolvedPermissions } from './types.js';

/** One error of the tool's serialised chain (the error, then each `cause`). */
export interface ErrorLink {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly stack?: string;
  readonly cause?: ErrorLink;
}

/** Where the private temp dir is, inside. */
const PRIVATE_TMP = '/tmp';
/** Paths always visible inside the sandbox besides the granted ones (the private temp dir). */
const ALWAYS_VISIBLE = [PRIVATE_TMP, '/proc', '/dev'];
/** Visible when `run` is granted (see bwrap-args.ts). */
const RUN_VISIBLE = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'];

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);
// Codes of Node's net/dns and of Bun's fetch when the network namespace has only loopback.
const NETWORK = new Set([
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'EAI_NONAME',
  'ENOTFOUND',
  'ConnectionRefused',
  'FailedToOpenSocket',
  'DNSException',
]);
const WRITE_SYSCALLS =
  /^(write|mkdir|mkdtemp|rmdir|rm|unlink|rename|copyfile|cp|symlink|link|chmod|chown|utime|futime|truncate|ftruncate|appendfile|writefile)/i;
// Bun reports `open` as the syscall of a failed writeFileSync/appendFileSync (observed, Bun 1.4):
// the top frame of the stack (`at writeFileSync (unknown)`) is what tells a write from a read.
const WRITE_FRAME =
  /^\s*at (?:\S+\.)?(?:writeFile|appendFile|createWriteStream|copyFile|cp|rename|mkdir|mkdtemp|symlink|link|truncate)(?:Sync)? /m;

/** Where the tool's view of the filesystem ends (for ENOENT outside it). */
export interface ViewHint {
  /** Extra visible roots: the tool's directory, the Bun binary, the worker's files. */
  readonly visible?: readonly string[];
  /**
   * Whether a path exists on the host. Inside, `/tmp` is the tool's own: a host path under it
   * that was not granted is not there (ENOENT), and only the host can tell that it was the
   * sandbox that hid it. Unset: such an ENOENT is the tool's own.
   */
  readonly existsOnHost?: (path: string) => boolean;
}

/**
 * The operation the sandbox denied, or undefined when the error is the tool's own. Only a
 * sandboxed run is ever "denied": without the sandbox an EACCES is the host's answer.
 */
export function deniedOperation(
  error: ErrorLink | undefined,
  permissions: ResolvedPermissions,
  sandboxed: boolean,
  view: ViewHint = {},
): string | undefined {
  if (!sandboxed || error === undefined) return undefined;
  for (const link of chain(error)) {
    const code = link.code ?? '';
    const spawn = spawnTarget(link);
    if (spawn !== undefined) {
      if (!permissions.run && (DENIED.has(code) || code === 'ENOENT')) return `spawn of ${spawn}`;
      continue;
    }
    if (
      permissions.net !== true &&
      (NETWORK.has(code) || /Unable to connect/i.test(link.message))
    ) {
      // With an allow-list only the proxy leads out: a connection that failed went around it.
      return permissions.net === false
        ? `connect to ${networkTarget(link)}`
        : `connect to ${networkTarget(link)}: no route out of the sandbox but its egress proxy (HTTP_PROXY)`;
    }
    if (DENIED.has(code)) {
      const path = link.path ?? pathInMessage(link.message);
      if (link.syscall === 'connect' || link.syscall === 'bind' || link.syscall === 'listen') {
        return `${link.syscall} ${networkTarget(link)}`;
      }
      if (path === undefined) return `${link.syscall ?? 'an operation'} (${code})`;
      const write = code === 'EROFS' || isWrite(link);
      return `${write ? 'write' : 'read'} of ${path}`;
    }
    if (code === 'ENOENT') {
      const path = link.path ?? pathInMessage(link.message);
      if (path === undefined || !path.startsWith('/')) continue;
      const write = isWrite(link);
      if (!isVisible(path, permissions, view) || hiddenHostPath(path, write, permissions, view)) {
        return `${write ? 'write' : 'read'} of ${path}`;
      }
    }
  }
  return undefined;
}

/** The kind of a denied operation from {@link deniedOperation}'s text (a metric label). */
export function deniedOperationKind(denied: string): 'read' | 'write' | 'net' | 'run' | 'other' {
  if (denied.startsWith('read of ')) return 'read';
  if (denied.startsWith('write of ')) return 'write';
  if (denied.startsWith('spawn of ')) return 'run';
  if (/^(connect|bind|listen) /.test(denied)) return 'net';
  return 'other';
}

// A write, as far as the error tells (its syscall, or the fs call on top of its stack).
function isWrite(link: ErrorLink): boolean {
  return WRITE_SYSCALLS.test(link.syscall ?? '') || WRITE_FRAME.test(link.stack ?? '');
}

/**
 * The grant that would allow a denied operation (from {@link deniedOperation}), worded as the
 * CLI's flags: "grant it with --allow-read /data/x". Undefined when no path grant helps.
 */
export function grantHint(operation: string): string | undefined {
  const path = /^(read|write) of (\/.*)$/.exec(operation);
  if (path === null) return undefined;
  return `grant it with --allow-${path[1]} ${path[2]} (permissions.${path[1]})`;
}

/**
 * True for a path in the tool's private /tmp (not under a grant or another visible root, which
 * are the host's own paths) that exists on the host: the sandbox hid it. For a write, an
 * existing parent below /tmp is enough (the write would have created the path).
 */
function hiddenHostPath(
  path: string,
  write: boolean,
  permissions: ResolvedPermissions,
  view: ViewHint,
): boolean {
  const exists = view.existsOnHost;
  if (exists === undefined || !inPrivateTmp(path, permissions, view)) return false;
  if (exists(path)) return true;
  const parent = dirname(path);
  return (
    write && parent !== PRIVATE_TMP && inPrivateTmp(parent, permissions, view) && exists(parent)
  );
}

/** True for a path inside the tool's private /tmp (nothing granted or shown covers it). */
export function inPrivateTmp(
  path: string,
  permissions: Pick<ResolvedPermissions, 'read' | 'write'>,
  view: Pick<ViewHint, 'visible'> = {},
): boolean {
  if (!isInside(path, PRIVATE_TMP)) return false;
  const hostRoots = [...permissions.read, ...permissions.write, ...(view.visible ?? [])];
  return !hostRoots.some((root) => isInside(path, root));
}

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

/**
 * The limit a kill or an error points to: SIGXCPU → `cpu`, SIGXFSZ or EFBIG → `file_size`,
 * ENOSPC in the private /tmp tmpfs (`scratch`, only when there is one) → `disk`, EMFILE/ENFILE
 * → `open_files`, EAGAIN on a fork while the pids cgroup refused one → `processes`. Under bwrap
 * a signal death of Bun reaches us as exit code 128 + signal (bwrap's init reports it so),
 * which is read back here.
 */
export function limitHint(end: {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly error: ErrorLink | undefined;
  readonly report: LimitReport;
  readonly limits?: { readonly cpuSeconds?: number | undefined; readonly maxFileSizeMb?: number };
  readonly scratch?: ScratchHint;
}): LimitHint | undefined {
  const signal = end.signal ?? signalOfExitCode(end.exitCode);
  const cpu = end.limits?.cpuSeconds;
  const fsize = end.limits?.maxFileSizeMb;
  if (signal === 'SIGXCPU') {
    return { limit: 'cpu', detail: cpu === undefined ? 'SIGXCPU' : `${cpu} CPU seconds` };
  }
  const codes = end.error === undefined ? [] : chain(end.error).map((l) => l.code ?? '');
  if (signal === 'SIGXFSZ' || codes.includes('EFBIG')) {
    return {
      limit: 'file_size',
      detail: fsize === undefined ? 'RLIMIT_FSIZE' : `${fsize} MiB per file`,
    };
  }
  if (end.scratch !== undefined && end.error !== undefined) {
    const { limitMb, permissions } = end.scratch;
    // A full /tmp tmpfs; an ENOSPC elsewhere (a granted host path) is the host's disk, not ours.
    // Bun reports ENOSPC of a write(2) on a descriptor without a path.
    const full = chain(end.error).some((l) => {
      if (l.code !== 'ENOSPC') return false;
      const path = l.path ?? pathInMessage(l.message);
      return path === undefined || inPrivateTmp(path, permissions);
    });
    if (full) {
      return {
        limit: 'disk',
        detail:
          limitMb === undefined
            ? `the private ${PRIVATE_TMP} is full`
            : `${limitMb} MiB in ${PRIVATE_TMP}`,
      };
    }
  }
  if (codes.includes('EMFILE') || codes.includes('ENFILE')) {
    return { limit: 'open_files', detail: 'too many open files' };
  }
  if (end.report.processesExceeded && end.error !== undefined) {
    const forkFailed = chain(end.error).some(
      (l) => (l.code === 'EAGAIN' || l.code === 'EPERM') && spawnTarget(l) !== undefined,
    );
    if (forkFailed) return { limit: 'processes', detail: 'the process limit refused a fork' };
  }
  return undefined;
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

/**
 * The runtime's explain hook in one call: the denied operation and the limit hint, from the
 * worker's message, how the process ended, the cgroup report, the permissions and enforcement.
 */
export function explainFailure(
  message: { readonly type: string; readonly error?: ErrorLink } | 'invalid' | undefined,
  end: { readonly code: number | null; readonly signal: string | null },
  report: LimitReport,
  permissions: ResolvedPermissions,
  enforcement: Enforcement,
  context: ViewHint & { readonly limits?: Parameters<typeof limitHint>[0]['limits'] } = {},
): {
  denied: string | undefined;
  grantHint: string | undefined;
  limitHit: LimitName | undefined;
  limitDetail: string | undefined;
} {
  const error = typeof message === 'object' && message.type === 'error' ? message.error : undefined;
  const sandboxed = enforcement.sandbox === 'bwrap';
  const hint =
    limitHint({
      exitCode: end.code,
      signal: end.signal,
      error,
      report,
      ...(context.limits === undefined ? {} : { limits: context.limits }),
      ...(enforcement.tmp.mechanism === 'tmpfs'
        ? { scratch: { limitMb: enforcement.tmp.limitMb, permissions } }
        : {}),
    }) ?? networkLimit(report.network);
  const denied =
    hint === undefined
      ? proxyDenial(
          deniedOperation(error, permissions, sandboxed, {
            existsOnHost: pathExists,
            ...context,
          }),
          report.network,
        )
      : undefined;
  return {
    denied,
    grantHint: denied === undefined ? undefined : grantHint(denied),
    limitHit: hint?.limit,
    limitDetail: hint?.detail,
  };
}

// The egress proxy's limit, when one refused or cut a connection of the execution.
function networkLimit(network: NetworkActivity | undefined): LimitHint | undefined {
  return network?.limit === undefined ? undefined : { limit: 'network', detail: network.limit };
}

/**
 * A failed tool whose connection the egress proxy refused was denied by it: the proxy's own
 * account (host, port, why) is the denial, unless the tool's error names another (a path).
 * The last refusal is the one the tool most likely failed on.
 */
function proxyDenial(
  denied: string | undefined,
  network: NetworkActivity | undefined,
): string | undefined {
  const last = network?.lastDenial;
  if (last === undefined || (denied !== undefined && !denied.startsWith('connect to '))) {
    return denied;
  }
  return last.message;
}

// Asked of the host by the manager, after the tool ended; the tool never learns the answer.
function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function chain(error: ErrorLink): ErrorLink[] {
  const links: ErrorLink[] = [];
  for (let e: ErrorLink | undefined = error; e !== undefined && links.length < 10; e = e.cause) {
    links.push(e);
  }
  return links;
}

// The command of a failed spawn, when this error is one: Node's `spawn sh` / `spawnSync sh`
// syscalls, Bun's `posix_spawn '…'` and "Executable not found in $PATH: "sh"".
function spawnTarget(link: ErrorLink): string | undefined {
  const syscall = link.syscall ?? '';
  const fromSyscall = /^(?:spawn|spawnSync|posix_spawn|execve?|fork|vfork)\b\s*(.*)$/.exec(syscall);
  if (fromSyscall !== undefined && fromSyscall !== null) {
    return basenameOf(link.path ?? (fromSyscall[1] || quoted(link.message) || 'a process'));
  }
  const notFound = /Executable not found in \$PATH: "([^"]+)"/.exec(link.message);
  if (notFound?.[1] !== undefined) return basenameOf(notFound[1]);
  const posix = /(?:posix_spawn|spawn(?:Sync)?|execve?)\s+'?([^'\s,]+)'?/.exec(link.message);
  if (posix?.[1] !== undefined && /EPERM|EACCES|ENOENT|EAGAIN/.test(link.message)) {
    return basenameOf(posix[1]);
  }
  return undefined;
}

function networkTarget(link: ErrorLink): string {
  // An abstract Unix socket (`\0name`): per network namespace, so the host's are out of reach.
  const at = link.message.indexOf('\0');
  const abstract = at === -1 ? undefined : /^[^\s\0]+/.exec(link.message.slice(at + 1))?.[0];
  if (abstract !== undefined) return `the abstract Unix socket @${abstract}`;
  const address = /(\d{1,3}(?:\.\d{1,3}){3}:\d+|\[[0-9a-f:]+\]:\d+)/i.exec(link.message);
  if (address?.[1] !== undefined) return address[1];
  const candidate = link.path ?? /(https?:\/\/[^\s'"]+)/.exec(link.message)?.[1];
  if (candidate !== undefined) {
    try {
      const url = new URL(candidate);
      return url.port === '' ? url.hostname : `${url.hostname}:${url.port}`;
    } catch {
      return candidate;
    }
  }
  const host = /(?:getaddrinfo|querya+|lookup)\s+\S+\s+(\S+)/i.exec(link.message)?.[1];
  return host ?? 'the network';
}

function isVisible(path: string, permissions: ResolvedPermissions, view: ViewHint): boolean {
  const roots = [
    ...ALWAYS_VISIBLE,
    ...permissions.read,
    ...permissions.write,
    ...(permissions.run ? RUN_VISIBLE : []),
    ...(view.visible ?? []),
  ];
  return roots.some((root) => isInside(path, root));
}

function pathInMessage(message: string): string | undefined {
  return /'(\/[^']*)'/.exec(message)?.[1];
}

function quoted(message: string): string | undefined {
  return /['"]([^'"]+)['"]/.exec(message)?.[1];
}

function basenameOf(command: string): string {
  const trimmed = command.trim();
  return trimmed.includes('/') ? trimmed.slice(trimmed.lastIndexOf('/') + 1) : trimmed;
}
