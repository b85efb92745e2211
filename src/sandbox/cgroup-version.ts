/**
 * What differs between cgroup v1 and v2, as one interface with one implementation per version
 * (cgroup-v1.ts, cgroup-v2.ts); cgroup.ts writes the same per-execution layout through either.
 */

/** The controllers toolcage limits an execution with. */
export type Controller = 'memory' | 'pids' | 'cpu';

/** Where the controllers are, as detected. */
export type CgroupLayout =
  | {
      readonly version: 'v1';
      /** Hierarchy of the memory controller (`/sys/fs/cgroup/memory`), if usable. */
      readonly memory: string | undefined;
      /** Hierarchy of the pids controller (`/sys/fs/cgroup/pids`), if usable. */
      readonly pids: string | undefined;
      /**
       * Where each hierarchy is mounted, when `memory`/`pids` are cgroups below it (delegated):
       * the launcher finds its own cgroup there. @default `memory`, `pids`
       */
      readonly mounts?: { readonly memory: string; readonly pids: string; readonly cpu?: string };
      /** Hierarchy (or delegated cgroup) of the cpu controller, if usable (`limits.cpus`). */
      readonly cpu?: string | undefined;
    }
  | {
      readonly version: 'v2';
      /** The unified hierarchy (`/sys/fs/cgroup`). */
      readonly root: string;
      readonly memory: boolean;
      readonly pids: boolean;
      readonly cpu?: boolean;
    };

/** One cgroup version's files and rules. */
export interface CgroupVersion {
  /** The mechanism name for `enforcement`. */
  readonly mechanism: 'cgroup-v1' | 'cgroup-v2';
  /** The file a single-threaded process writes `0` (itself) to, to join a cgroup. */
  readonly joinFile: string;
  /**
   * A process can be started inside one of its cgroups (clone3's CLONE_INTO_CGROUP, Linux 5.7,
   * v2 only), which skips the migration lock a join takes (see cgroup-v2.ts).
   */
  readonly cloneInto: boolean;
  /** Where toolcage's cgroups of a controller go, or undefined when it is not usable. */
  hierarchy(controller: Controller): string | undefined;
  /** Where a controller's hierarchy is mounted (v1), to find a process's own cgroup in it. */
  mount(controller: Controller): string | undefined;
  /** Sets a cgroup's CPU quota, in CPUs (a bandwidth of `cpus` × the period). */
  limitCpu(dir: string, cpus: number): void;
  /** Every hierarchy toolcage makes cgroups in (no duplicates). */
  hierarchies(): string[];
  /** Lets the children of each of `dirs` (top-down) use toolcage's controllers (cpu: when asked). */
  delegate(dirs: readonly string[], cpu: boolean): void;
  /** Sets a cgroup's memory limit, without swap. */
  limitMemory(dir: string, bytes: number): void;
  /** True when a memory cgroup recorded an OOM kill. */
  memoryExceeded(dir: string): boolean;
  /** Kills every member at once if the kernel can (true), else does nothing (false). */
  killAtOnce(dir: string): boolean;
}
