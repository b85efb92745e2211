/**
 * Detects, once per process, what this machine offers for enforcement: bubblewrap (and whether
 * a trivial sandbox really starts), user namespaces, cgroups (v2 delegated, or v1 controllers
 * mounted and writable), the shell used to apply limits, prlimit, and a seccomp syscall table.
 */
import { join } from 'node:path';
import { detectCgroups, type CgroupCapabilities } from './cgroup-detect.js';
import { mayAccess } from './access.js';
import { readOr } from './cgroup-files.js';
import { runProbe } from './probe.js';
import { currentSeccompArch, type SeccompArch } from './seccomp.js';

/** One component as found. */
export interface Component {
  readonly available: boolean;
  /** What was found, or why it is missing. */
  readonly detail: string;
}

/** What the machine offers. */
export interface SandboxCapabilities {
  readonly platform: NodeJS.Platform;
  readonly uid: number | undefined;
  readonly bwrap: Component & {
    readonly path: string | undefined;
    readonly version: string | undefined;
    /** A trivial sandbox (all namespaces, `true`) really ran. */
    readonly works: boolean;
    /** `--size` sizes a `--tmpfs` (bubblewrap ≥ 0.7, not setuid): the private /tmp gets its cap. */
    readonly tmpfsSize: boolean;
  };
  /** bwrap can create a user namespace (run the tool as an unprivileged uid). */
  readonly userNamespaces: Component;
  /** Usable cgroup controllers and where they are; `layout` is undefined when none is. */
  readonly cgroup: CgroupCapabilities;
  /** The shell that joins cgroups and sets rlimits before `exec`. */
  readonly shell: Component & { readonly path: string | undefined };
  readonly prlimit: Component & { readonly path: string | undefined };
  /** util-linux `setpriv`: a root manager's prologue switches to the sandbox user with it. */
  readonly setpriv: Component & { readonly path: string | undefined };
  readonly seccomp: Component & { readonly arch: SeccompArch | undefined };
}

/** Where detection looks (tests point it at fakes). */
export interface DetectOptions {
  /** The cgroup filesystem. @default '/sys/fs/cgroup' */
  readonly cgroupRoot?: string;
  /** A delegated cgroup for the executions' cgroups (`cgroupParent`, see cgroup-detect.ts). */
  readonly cgroupParent?: string | undefined;
  /** Who starts bwrap (the sandbox user, identity.ts): the bwrap probes run as it. */
  readonly runAs?: { readonly uid: number; readonly gid: number } | undefined;
  /** Directories searched for `bwrap`, `prlimit`. @default PATH + the usual system dirs */
  readonly searchPath?: readonly string[];
}

const cache = new Map<string, Promise<SandboxCapabilities>>();

/** Detects once per option set (cached for the life of the process). */
export function detectCapabilities(options: DetectOptions = {}): Promise<SandboxCapabilities> {
  const key = JSON.stringify([
    options.cgroupRoot,
    options.searchPath,
    options.cgroupParent,
    options.runAs,
  ]);
  let found = cache.get(key);
  if (found === undefined) {
    found = detect(options);
    cache.set(key, found);
  }
  return found;
}

async function detect(options: DetectOptions): Promise<SandboxCapabilities> {
  const searchPath = options.searchPath ?? defaultSearchPath();
  const uid = process.getuid?.();
  const bwrapPath = findExecutable('bwrap', searchPath);
  const prlimitPath = findExecutable('prlimit', searchPath);
  const setprivPath = findExecutable('setpriv', searchPath);
  const shellPath = isExecutableFile('/bin/sh') ? '/bin/sh' : undefined;
  const arch = currentSeccompArch();
  const [bwrap, userNamespaces] = await probeBwrap(bwrapPath, options.runAs);
  return {
    platform: process.platform,
    uid,
    bwrap,
    userNamespaces,
    cgroup: detectCgroups(options.cgroupRoot ?? '/sys/fs/cgroup', {
      parent: options.cgroupParent,
    }),
    shell: {
      available: shellPath !== undefined,
      path: shellPath,
      detail: shellPath ?? '/bin/sh not found (needed to apply cgroups and rlimits)',
    },
    prlimit: {
      available: prlimitPath !== undefined,
      path: prlimitPath,
      detail: prlimitPath ?? 'not found (optional: rlimits are set by the shell builtin ulimit)',
    },
    setpriv: {
      available: setprivPath !== undefined,
      path: setprivPath,
      detail:
        setprivPath ??
        'not found (util-linux): a root manager starts its sandboxes through the launcher only',
    },
    seccomp: {
      available: arch !== undefined,
      arch,
      detail:
        arch === undefined
          ? `no syscall table for ${process.arch}: subprocesses cannot be denied`
          : `classic BPF filter for ${arch}`,
    },
  };
}

// bwrap's version, and a trivial sandbox with and without a user namespace.
async function probeBwrap(
  path: string | undefined,
  as: DetectOptions['runAs'],
): Promise<[SandboxCapabilities['bwrap'], Component]> {
  const noUserns: Component = { available: false, detail: 'not tested (no working bwrap)' };
  const missing = (detail: string): SandboxCapabilities['bwrap'] => ({
    available: false,
    path,
    version: undefined,
    works: false,
    tmpfsSize: false,
    detail,
  });
  if (path === undefined) return [missing('bwrap not found on PATH'), noUserns];
  const versionProbe = await runProbe(path, ['--version']);
  if (!versionProbe.ok) {
    return [missing(`\`bwrap --version\` failed: ${versionProbe.failure}`), noUserns];
  }
  const version = versionProbe.stdout.trim().replace(/^bubblewrap\s+/, '');
  const { withUserns, plain, tmpfsSize } = await trySandboxes(path, as);
  const works = withUserns === undefined || plain === undefined;
  const failure = plain ?? withUserns ?? '';
  return [
    {
      available: works,
      path,
      version,
      works,
      tmpfsSize,
      detail: works ? `${path} ${version}` : `a trivial sandbox failed: ${failure}`,
    },
    {
      available: withUserns === undefined,
      detail:
        withUserns === undefined
          ? `bwrap --unshare-user works (max_user_namespaces ${readOr('/proc/sys/user/max_user_namespaces').trim() || '?'})`
          : `bwrap --unshare-user failed: ${withUserns}`,
    },
  ];
}

// A trivial sandbox (all namespaces, `true`) with a user namespace, and only when that failed,
// without one (each undefined when it ran, else why it did not); then, when one ran, whether
// it can size a tmpfs.
async function trySandboxes(
  path: string,
  as: DetectOptions['runAs'],
): Promise<{ withUserns: string | undefined; plain: string | undefined; tmpfsSize: boolean }> {
  const trueBin = ['/bin/true', '/usr/bin/true'].find(isExecutableFile) ?? '/bin/true';
  const base = [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--ro-bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
  ];
  const userns = ['--unshare-user', '--uid', '65534', '--gid', '65534', '--disable-userns'];
  const withUserns = await tryRun(path, [...userns, ...base, '--', trueBin], as);
  const plain =
    withUserns === undefined ? undefined : await tryRun(path, [...base, '--', trueBin], as);
  const works = withUserns === undefined || plain === undefined;
  // The private /tmp is a tmpfs of limits.tmpMb (bwrap-args.ts): `--size` came with bubblewrap
  // 0.7 and is refused by a setuid bwrap, so it is tried rather than read from the version.
  const sized = ['--size', '1048576', '--tmpfs', '/tmp', '--', trueBin];
  const tmpfsSize =
    works &&
    (await tryRun(path, [...(withUserns === undefined ? userns : []), ...base, ...sized], as)) ===
      undefined;
  return { withUserns, plain, tmpfsSize };
}

// Runs a command; undefined when it exited 0, else what went wrong.
async function tryRun(
  file: string,
  args: readonly string[],
  as: DetectOptions['runAs'],
): Promise<string | undefined> {
  const probe = await runProbe(file, args, as);
  return probe.ok ? undefined : probe.failure;
}

function defaultSearchPath(): string[] {
  const fromEnv = (process.env['PATH'] ?? '').split(':').filter(Boolean);
  return [...new Set([...fromEnv, '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'])];
}

function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  return dirs.map((dir) => join(dir, name)).find(isExecutableFile);
}

function isExecutableFile(path: string): boolean {
  return mayAccess(path, 'x');
}
