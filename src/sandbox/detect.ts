/**
 * Detects, once per process, what this machine offers for enforcement: bubblewrap (and whether
 * a trivial sandbox really starts), user namespaces, cgroups (v2 delegated, or v1 controllers
 * mounted and writable), the shell used to apply limits, prlimit, and a seccomp syscall table.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readOr } from './cgroup-files.js';
import type { CgroupLayout } from './cgroup-version.js';
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
  /** Usable cgroup controllers; `layout` is undefined when none is. */
  readonly cgroup: Component & {
    readonly version: 'v1' | 'v2' | 'none';
    readonly memory: boolean;
    readonly pids: boolean;
    readonly cpu: boolean;
    readonly layout: CgroupLayout | undefined;
  };
  /** The shell that joins cgroups and sets rlimits before `exec`. */
  readonly shell: Component & { readonly path: string | undefined };
  readonly prlimit: Component & { readonly path: string | undefined };
  readonly seccomp: Component & { readonly arch: SeccompArch | undefined };
}

/** Where detection looks (tests point it at fakes). */
export interface DetectOptions {
  /** The cgroup filesystem. @default '/sys/fs/cgroup' */
  readonly cgroupRoot?: string;
  /** Directories searched for `bwrap`, `prlimit`. @default PATH + the usual system dirs */
  readonly searchPath?: readonly string[];
}

const cache = new Map<string, Promise<SandboxCapabilities>>();

/** Detects once per option set (cached for the life of the process). */
export function detectCapabilities(options: DetectOptions = {}): Promise<SandboxCapabilities> {
  const key = JSON.stringify([options.cgroupRoot, options.searchPath]);
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
  const shellPath = isExecutable('/bin/sh') ? '/bin/sh' : undefined;
  const arch = currentSeccompArch();
  const [bwrap, userNamespaces] = await probeBwrap(bwrapPath);
  return {
    platform: process.platform,
    uid,
    bwrap,
    userNamespaces,
    cgroup: detectCgroups(options.cgroupRoot ?? '/sys/fs/cgroup'),
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
  const { withUserns, plain, tmpfsSize } = await trySandboxes(path);
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
): Promise<{ withUserns: string | undefined; plain: string | undefined; tmpfsSize: boolean }> {
  const trueBin = ['/bin/true', '/usr/bin/true'].find(isExecutable) ?? '/bin/true';
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
  const withUserns = await tryRun(path, [...userns, ...base, '--', trueBin]);
  const plain = withUserns === undefined ? undefined : await tryRun(path, [...base, '--', trueBin]);
  const works = withUserns === undefined || plain === undefined;
  // The private /tmp is a tmpfs of limits.tmpMb (bwrap-args.ts): `--size` came with bubblewrap
  // 0.7 and is refused by a setuid bwrap, so it is tried rather than read from the version.
  const sized = ['--size', '1048576', '--tmpfs', '/tmp', '--', trueBin];
  const tmpfsSize =
    works &&
    (await tryRun(path, [...(withUserns === undefined ? userns : []), ...base, ...sized])) ===
      undefined;
  return { withUserns, plain, tmpfsSize };
}

// Runs a command; undefined when it exited 0, else what went wrong.
async function tryRun(file: string, args: readonly string[]): Promise<string | undefined> {
  const probe = await runProbe(file, args);
  return probe.ok ? undefined : probe.failure;
}

/** Finds usable cgroup controllers under `root` (a v2 mount, or v1 hierarchies below it). */
export function detectCgroups(root: string): SandboxCapabilities['cgroup'] {
  const controllersFile = join(root, 'cgroup.controllers');
  if (existsSync(controllersFile)) {
    const controllers = readOr(controllersFile).trim().split(/\s+/);
    const writable = isWritable(root);
    const memory = writable && controllers.includes('memory');
    const pids = writable && controllers.includes('pids');
    return {
      version: 'v2',
      memory,
      pids,
      cpu: writable && controllers.includes('cpu'),
      available: memory || pids,
      layout: memory || pids ? { version: 'v2', root, memory, pids } : undefined,
      detail: writable
        ? `cgroup v2 at ${root}, controllers: ${controllers.join(' ') || '(none)'}`
        : `cgroup v2 at ${root} is not writable (delegate a subtree to this user)`,
    };
  }
  const v1 = (controller: string, file: string): string | undefined => {
    const dir = join(root, controller);
    return existsSync(join(dir, file)) && isWritable(dir) ? dir : undefined;
  };
  const memory = v1('memory', 'memory.limit_in_bytes');
  const pids = v1('pids', 'cgroup.procs');
  const cpu = v1('cpu', 'cgroup.procs');
  const found = [memory && 'memory', pids && 'pids', cpu && 'cpu'].filter(Boolean).join(', ');
  return {
    version: memory !== undefined || pids !== undefined ? 'v1' : 'none',
    memory: memory !== undefined,
    pids: pids !== undefined,
    cpu: cpu !== undefined,
    available: memory !== undefined || pids !== undefined,
    layout:
      memory !== undefined || pids !== undefined ? { version: 'v1', memory, pids } : undefined,
    detail: found
      ? `cgroup v1 at ${root}, writable: ${found}`
      : `no writable memory or pids controller under ${root}`,
  };
}

function defaultSearchPath(): string[] {
  const fromEnv = (process.env['PATH'] ?? '').split(':').filter(Boolean);
  return [...new Set([...fromEnv, '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'])];
}

function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
