/**
 * The bubblewrap command line of one execution. Pure: everything it needs about the machine (which
 * libraries Bun loads, how `/bin` and `/lib` are laid out) comes in as a {@link SystemView}. The
 * view starts empty (bwrap's root is a fresh tmpfs) and gets only what docs/permissions.md's
 * "filesystem" row lists, host paths at their own path (the tool path needs no translation); its
 * `/tmp` is a tmpfs of `limits.tmpMb`, charged to the memory cgroup. No shell, `/usr/bin` or `/etc`
 * unless `run` is granted, and then a short list of `/etc` files, never all of it: it holds
 * `shadow`, which a sandbox of an explicit `sandboxUser: 'root'` would be the owner of.
 */
import { dirname } from 'node:path';
import { EGRESS_DIR, egressEnv } from '../network/in-sandbox.js';
import { DEVICE_DIR, deviceMounts, type DeviceMount } from './device-mounts.js';
import { maskMounts } from './mask-mounts.js';
import { orderMounts } from './mount-order.js';
import { isInside } from './permissions.js';
import type { MaskedEntry, ResolvedPermissions, ToolView } from './types.js';

/** What of the host the sandbox shows, found once by detection. */
export interface SystemView {
  /** Shared libraries the Bun binary loads, as the loader names them (`/lib64/ld-linux-x86-64.so.2`, …). */
  readonly libraries: readonly string[];
  /** Root entries shown when `run` is granted: `/usr` bound, `/bin` → `usr/bin` recreated as a link. */
  readonly runRoot: readonly RootEntry[];
  /** `/etc` files shown when `run` is granted (those that exist). */
  readonly runEtc: readonly string[];
  /** `/etc` files for name resolution, shown when `net` is granted. */
  readonly netEtc: readonly string[];
  /**
   * The `/proc` covers this kernel needs (system-view.ts): `all` for a sandbox that is host
   * root, `anyUser` (what a plain user's permission checks leave open) for any other.
   */
  readonly proc?: { readonly all: ProcCovers; readonly anyUser: ProcCovers };
}

/** `/proc` paths made read-only inside, and paths masked inside (a file bound over, a directory emptied). */
export interface ProcCovers {
  readonly readOnly: readonly string[];
  readonly masked: readonly MaskedEntry[];
}

/** A top-level host path: a directory to bind, or a symlink to recreate. */
export type RootEntry =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

/** Everything one bwrap command line is made of. */
export interface BwrapInput {
  readonly bunPath: string;
  readonly bunArgs: readonly string[];
  /** The tool's own files (read-only): its bundle, or its directory. */
  readonly tool: ToolView;
  /** Secret-bearing entries of the tool's directory and of the granted ones, hidden. */
  readonly masked?: readonly MaskedEntry[];
  /** Worker entry, bunfig, … (read-only). */
  readonly runtimeFiles: readonly string[];
  readonly permissions: ResolvedPermissions;
  /** The tool's variables; `TMPDIR`, `HOME` (and `PATH` with `run`) are set here. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Size of the private `/tmp` tmpfs in bytes (`--size`, bubblewrap ≥ 0.7); undefined: an
   * unsized tmpfs, bounded only by the memory cgroup its pages are charged to.
   */
  readonly tmpBytes: number | undefined;
  readonly system: SystemView;
  /** Run as uid/gid 65534 in a user namespace (and forbid nested ones). */
  readonly userNamespace: boolean;
  /** The sandbox runs as host root (an explicit opt-in): every `/proc` cover is laid. */
  readonly hostRoot: boolean;
  /** Child fd carrying the seccomp program, if any. */
  readonly seccompFd: number | undefined;
  /**
   * With an allow-list: the host directory of the execution's egress proxy socket, bound
   * read-only at EGRESS_DIR; the proxy variables point at the worker's listener.
   */
  readonly egressDir?: string | undefined;
}

/** Where the private temp dir appears inside; also HOME and the working directory. */
export const SANDBOX_TMP = '/tmp';
/** PATH inside the sandbox when `run` is granted. */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NOBODY = '65534';

type Mount =
  | {
      readonly op: '--ro-bind' | '--ro-bind-try' | '--bind' | '--bind-try';
      readonly src: string;
      readonly dest: string;
    }
  | DeviceMount
  | { readonly op: '--symlink'; readonly target: string; readonly dest: string }
  | { readonly op: '--tmpfs'; readonly dest: string; readonly sizeBytes: number | undefined }
  | { readonly op: '--proc' | '--tmpfs-ro'; readonly dest: string };

/** The namespaces a command line from {@link buildBwrapArgs} creates (for `enforcement`). */
export function bwrapNamespaces(
  input: Pick<BwrapInput, 'permissions' | 'userNamespace'>,
): string[] {
  return [
    'mount',
    'pid',
    'ipc',
    'uts',
    ...(input.permissions.net === true ? [] : ['net']),
    ...(input.userNamespace ? ['user'] : []),
  ];
}

/** The arguments after `bwrap`, ending with `-- <bun> <bunArgs…>`. */
export function buildBwrapArgs(input: BwrapInput): string[] {
  const { permissions } = input;
  const args: string[] = [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    'toolcage',
  ];
  // An allow-list keeps the namespace too: its only way out is the proxy's socket.
  if (permissions.net !== true) args.push('--unshare-net');
  if (input.userNamespace) {
    // Inside, the tool is "nobody"; outside it stays our uid without capabilities. Nested user
    // namespaces (a way to regain capabilities over the sandbox's own mounts) are refused.
    args.push('--unshare-user', '--uid', NOBODY, '--gid', NOBODY, '--disable-userns');
  }
  // --die-with-parent: killing bwrap (the runtime kills its process group) kills the namespace's
  // init, and the kernel then kills every process of the PID namespace, setsid'd ones included.
  // --new-session: no way back to a controlling terminal (TIOCSTI, CVE-2017-5226).
  args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL');

  const toolDirsInTmp = toolDirsUnderTmp(input);
  for (const mount of orderMounts(mounts(input, toolDirsInTmp))) {
    switch (mount.op) {
      case '--symlink':
        args.push('--symlink', mount.target, mount.dest);
        break;
      case '--tmpfs':
        // --size applies to the --tmpfs that follows it.
        if (mount.sizeBytes !== undefined) args.push('--size', String(mount.sizeBytes));
        args.push('--tmpfs', mount.dest);
        break;
      case '--proc':
        args.push(mount.op, mount.dest);
        break;
      case '--tmpfs-ro':
        // An empty tmpfs of mode 0000 over a masked directory (opening it fails with EACCES,
        // see mask-mounts.ts), then read-only: `--remount-ro /` below does not reach mounts
        // under the root, so without this the tool could write into it.
        args.push('--perms', '0000', '--tmpfs', mount.dest, '--remount-ro', mount.dest);
        break;
      default:
        args.push(mount.op, mount.src, mount.dest);
    }
  }
  for (const dir of toolDirsInTmp) args.push('--remount-ro', dir);
  // The sandbox's /dev, once its entries are made (deviceMounts); a grant under it keeps its own.
  args.push('--remount-ro', DEVICE_DIR);
  // bwrap builds the view on a fresh tmpfs root, writable by default: without this, a write to
  // /etc/x or to a mount point's parent "succeeds" into that throwaway tmpfs (observed), which
  // misleads the tool and spends sandbox memory. Read-only, it fails with EROFS
  // (permission_denied); the granted and private writable binds are mounts of their own.
  args.push('--remount-ro', '/');
  args.push('--chdir', SANDBOX_TMP, '--clearenv');
  for (const [name, value] of Object.entries(sandboxEnv(input))) args.push('--setenv', name, value);
  if (input.seccompFd !== undefined) args.push('--seccomp', String(input.seccompFd));
  args.push('--', input.bunPath, ...input.bunArgs);
  return args;
}

/**
 * `args` of {@link buildBwrapArgs} with bwrap's `--info-fd` (it writes the sandbox's process's
 * pid there) and `--block-fd` (that process waits for a byte on it before it forks the tool's)
 * before the command: how the launcher sets its rlimits (see runtime/launcher/main.ts).
 * Derived rather than built again: a plan carries both commands, and deriving is far cheaper
 * than building (docs/performance.md, "Deriving the held bwrap command").
 */
export function withHold(
  args: readonly string[],
  input: Pick<BwrapInput, 'bunArgs'>,
  hold: { readonly infoFd: number; readonly blockFd: number },
): string[] {
  // The command comes last: `--`, Bun, its arguments.
  const command = args.length - input.bunArgs.length - 2;
  const fds = ['--info-fd', String(hold.infoFd), '--block-fd', String(hold.blockFd)];
  return [...args.slice(0, command), ...fds, ...args.slice(command)];
}

/** The tool's environment inside: its own variables, then toolcage's (which win). */
export function sandboxEnv(
  input: Pick<BwrapInput, 'env' | 'permissions' | 'egressDir'>,
): Record<string, string> {
  return {
    ...input.env,
    ...(input.egressDir === undefined ? {} : egressEnv()),
    TMPDIR: SANDBOX_TMP,
    HOME: SANDBOX_TMP,
    ...(input.permissions.run ? { PATH: SANDBOX_PATH } : {}),
  };
}

function mounts(input: BwrapInput, toolDirsInTmp: readonly string[]): Mount[] {
  const { permissions, system } = input;
  const list: Mount[] = [];
  if (permissions.run) {
    for (const entry of system.runRoot) {
      if (entry.kind === 'symlink')
        list.push({ op: '--symlink', target: entry.target, dest: entry.path });
      else list.push({ op: '--ro-bind', src: entry.path, dest: entry.path });
    }
    for (const file of system.runEtc) list.push({ op: '--ro-bind-try', src: file, dest: file });
  } else {
    // Bun is dynamically linked (libc, libm, libpthread, libdl and the loader): only those.
    for (const library of system.libraries)
      list.push({ op: '--ro-bind', src: library, dest: library });
  }
  // Name resolution files for the whole network only: with an allow-list the proxy resolves.
  if (permissions.net === true) {
    for (const file of system.netEtc) list.push({ op: '--ro-bind-try', src: file, dest: file });
  }
  if (input.egressDir !== undefined) {
    list.push({ op: '--ro-bind', src: input.egressDir, dest: EGRESS_DIR });
  }
  list.push({ op: '--ro-bind', src: input.bunPath, dest: input.bunPath });
  list.push(...toolMounts(input.tool));
  // Deeper than the directories they lie in, so mounted after them (see orderMounts).
  list.push(...maskMounts(input.masked ?? []));
  for (const dir of toolDirsInTmp) list.push({ op: '--tmpfs', dest: dir, sizeBytes: undefined });
  for (const file of input.runtimeFiles) list.push({ op: '--ro-bind', src: file, dest: file });
  // Before the grants: a granted path under /tmp (or /tmp itself) is the host's, as granted.
  list.push({ op: '--tmpfs', dest: SANDBOX_TMP, sizeBytes: input.tmpBytes });
  // A granted path that does not exist is skipped (-try): the tool sees ENOENT, as on the host.
  const writable = new Set(permissions.write);
  for (const path of permissions.read) {
    if (!writable.has(path)) list.push({ op: '--ro-bind-try', src: path, dest: path });
  }
  for (const path of permissions.write) list.push({ op: '--bind-try', src: path, dest: path });
  list.push({ op: '--proc', dest: '/proc' });
  list.push(...procCovers(system, input.hostRoot));
  list.push(...deviceMounts([...permissions.read, ...permissions.write], SANDBOX_TMP));
  return list;
}

/**
 * Kernel knobs and internals under the fresh `/proc`. bwrap covers `/proc/sys` read-only only
 * when its own access(W_OK) check finds it writable, which it did not for a sandbox mapped to
 * host root (observed: `kernel.core_pattern` writable inside). A sandbox that is host root gets
 * every cover; any other user is refused the rest by the kernel's own permission checks (root-only
 * modes; no capability outside the user namespace, none inside after `--cap-drop ALL`), and gets
 * the covers of what those checks leave open. The source is the host's /proc: the same knobs (a
 * `net` knob answers for the reader's network namespace, the sandbox's own).
 */
function procCovers(system: SystemView, hostRoot: boolean): Mount[] {
  const covers = hostRoot ? system.proc?.all : system.proc?.anyUser;
  return [
    ...(covers?.readOnly ?? []).map((path): Mount => ({
      op: '--ro-bind-try',
      src: path,
      dest: path,
    })),
    ...maskMounts(covers?.masked ?? []),
  ];
}

/**
 * The bundle's directory when it lies inside the private `/tmp` (a project under the host's
 * /tmp) and no grant shows the host's copy of it. bwrap makes the missing parents of the
 * bundle's mount point on the writable `/tmp` tmpfs, so a write beside the tool "succeeded"
 * into the scratch space (observed with a checkout in /tmp: `writeFileSync` of
 * `<tool dir>/x.txt` returned). The directory gets an empty tmpfs of its own, made read-only
 * once the bundle is bound into it (`--remount-ro` is not recursive: the bundle's own
 * read-only mount and grants below stay as they are), so such a write fails with EROFS as it
 * does anywhere else in the view.
 */
function toolDirsUnderTmp(input: Pick<BwrapInput, 'tool' | 'permissions'>): string[] {
  if (input.tool.kind !== 'bundle') return [];
  const dir = dirname(input.tool.file);
  if (dir === SANDBOX_TMP || !isInside(dir, SANDBOX_TMP)) return [];
  const grants = [...input.permissions.read, ...input.permissions.write];
  return grants.some((grant) => isInside(dir, grant)) ? [] : [dir];
}

// The tool's bundle alone, or its directory (its masks come with the others).
function toolMounts(view: ToolView): Mount[] {
  if (view.kind === 'bundle') {
    return [
      { op: '--ro-bind', src: view.source, dest: view.file },
      ...(view.bytecode === undefined
        ? []
        : [{ op: '--ro-bind', src: view.bytecode, dest: `${view.file}.jsc` } as const]),
      // -try: a map removed from the cache leaves the stack unmapped, not the tool unstartable.
      ...(view.sourcemap === undefined
        ? []
        : [{ op: '--ro-bind-try', src: view.sourcemap, dest: `${view.file}.map` } as const]),
    ];
  }
  return [{ op: '--ro-bind', src: view.dir, dest: view.dir }];
}
