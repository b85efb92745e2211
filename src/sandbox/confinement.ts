/**
 * The one description of what confines a launch — its cgroups, its rlimits, its host user — as
 * every launch applies it: the launcher (runtime/launcher/main.ts) does, and where the launcher
 * cannot run, the shell prologue Node spawns (prologue.ts) applies the same description.
 */

/** One rlimit, soft then hard. */
export interface Rlimit {
  readonly resource: 'cpu' | 'fsize' | 'nofile' | 'data' | 'nproc';
  readonly soft: number;
  readonly hard: number;
}

/** A cgroup v1 hierarchy's cgroup for a launch, joined through its `tasks` file. */
export interface CgroupJoin {
  readonly controller: 'memory' | 'pids' | 'cpu';
  /** Where the hierarchy is mounted: the launcher finds its own cgroup there. */
  readonly hierarchy: string;
  /** The cgroup's `tasks` file. */
  readonly file: string;
  /**
   * The started process is moved in (`cgroup.procs`) instead of started from a thread inside
   * it: the launcher's thread must not sit in a memory cgroup too small for Bun, where v1's
   * OOM killer could pick the launcher (see cgroup.ts).
   */
  readonly move?: true;
}

/** What confines one launch. */
export interface Confinement {
  /** cgroup v2: the cgroup the process starts in (clone3's CLONE_INTO_CGROUP). */
  readonly cgroup?: string;
  /** cgroup v1: the cgroup of each hierarchy. */
  readonly joins?: readonly CgroupJoin[];
  /** Set before the process runs anything of its own (for bwrap: on its sandbox process, see `hold`). */
  readonly rlimits: readonly Rlimit[];
  /** The host user it runs as (a root manager's sandbox user, see identity.ts). */
  readonly user?: { readonly uid: number; readonly gid: number };
  /**
   * bwrap's arguments with `--info-fd`/`--block-fd`, and those descriptors: bwrap forks its
   * sandbox process early and that one forks the tool's, so the launcher gives the rlimits to the
   * sandbox process (its pid from the info fd) while it waits on the block fd.
   */
  readonly hold?: {
    readonly args: readonly string[];
    readonly infoFd: number;
    readonly blockFd: number;
  };
}

/** The limits of a launch that rlimits carry. */
export interface RlimitValues {
  /** RLIMIT_CPU: SIGXCPU after this many CPU seconds, SIGKILL one second later. */
  readonly cpuSeconds: number | undefined;
  /** RLIMIT_FSIZE: a larger write raises SIGXFSZ (or fails with EFBIG). */
  readonly fileSizeBytes: number | undefined;
  /** RLIMIT_NOFILE: descriptors the tool may hold open. */
  readonly openFiles?: number | undefined;
  /** RLIMIT_DATA: the memory bound where no memory cgroup can be written (rlimit-data). */
  readonly dataBytes?: number | undefined;
  /** RLIMIT_NPROC inside the user namespace, where no pids cgroup bounds processes (rlimit-nproc). */
  readonly processes?: number | undefined;
}

/**
 * The rlimits: RLIMIT_CPU soft below hard, so that the kernel sends SIGXCPU (which names the
 * reason) before the SIGKILL; RLIMIT_FSIZE in whole 512-byte blocks and RLIMIT_DATA in whole
 * KiB, the units a shell's `ulimit` counts in.
 */
export function rlimitsOf(values: RlimitValues): Rlimit[] {
  const limits: Rlimit[] = [];
  const exact = (resource: Rlimit['resource'], value: number): void => {
    limits.push({ resource, soft: value, hard: value });
  };
  if (values.cpuSeconds !== undefined) {
    limits.push({ resource: 'cpu', soft: values.cpuSeconds, hard: values.cpuSeconds + 1 });
  }
  if (values.fileSizeBytes !== undefined) exact('fsize', wholeUnits(values.fileSizeBytes, 512));
  if (values.openFiles !== undefined) exact('nofile', values.openFiles);
  if (values.dataBytes !== undefined) exact('data', wholeUnits(values.dataBytes, 1024));
  if (values.processes !== undefined) exact('nproc', values.processes);
  return limits;
}

function wholeUnits(bytes: number, unit: number): number {
  return Math.max(1, Math.floor(bytes / unit)) * unit;
}
