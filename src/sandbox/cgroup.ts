/**
 * Per-execution cgroups: the memory limit (and OOM detection), the process limit, and a kill
 * that reaches every process of an execution. Layout, under each controller hierarchy:
 *
 *   <hierarchy>/toolcage/<manager pid>-<its start time>/<launch id>
 *
 * The manager's directory (named by owner.ts) is created with the first execution and removed
 * when a runtime closes with no execution left in it (and at exit); one left by a manager that
 * died is removed by sweepStaleCgroupsIn (sweep.ts). Both cgroup v1 (this machine: one
 * hierarchy per controller) and v2 (one unified hierarchy, controllers delegated down through
 * `cgroup.subtree_control`) are written here, through the version's object (cgroup-v1.ts,
 * cgroup-v2.ts); the layout comes from detection.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Background } from './background.js';
import { field, readOr } from './cgroup-files.js';
import {
  cpuSecondsOf,
  killMembers,
  removeCgroups,
  signalMembers,
  tryRmdir,
} from './cgroup-members.js';
import { ensureManagerDir } from './cgroup-manager-dir.js';
import type { SpareDirs } from './spare-dirs.js';
import { cgroupV1 } from './cgroup-v1.js';
import { cgroupV2 } from './cgroup-v2.js';
import type { CgroupLayout, CgroupVersion, Controller } from './cgroup-version.js';
import { ownerTag } from './owner.js';
import type { CgroupJoin, Confinement } from './confinement.js';
import type { LimitReport } from './types.js';

/** What one execution's cgroups limit. */
export interface CgroupLimits {
  readonly memoryBytes: number | undefined;
  readonly maxProcesses: number | undefined;
  /** A CPU quota in CPUs (`limits.cpus`); undefined: none, and no cpu cgroup on v1. */
  readonly cpus?: number | undefined;
}

const THREAD_JOIN_MIN_MEMORY_BYTES = 32 * 1024 * 1024;

/** The directory under each hierarchy that holds toolcage's cgroups. */
export const PARENT = 'toolcage';

/** One execution's cgroups (one per hierarchy on v1, one on v2). */
export class ExecutionCgroups {
  readonly #version: CgroupVersion;
  readonly #memoryDir: string | undefined;
  readonly #pidsDir: string | undefined;
  readonly #cpuDir: string | undefined;
  readonly #limits: CgroupLimits;
  readonly #spares: SpareDirs | undefined;
  #created = false;
  #destroyed = false;
  #removal: Promise<void> | undefined;

  private constructor(
    version: CgroupVersion,
    dirs: { memory?: string | undefined; pids?: string | undefined; cpu?: string | undefined },
    limits: CgroupLimits,
    spares?: SpareDirs,
  ) {
    this.#version = version;
    this.#spares = spares;
    this.#memoryDir = dirs.memory;
    this.#pidsDir = dirs.pids;
    this.#cpuDir = dirs.cpu;
    this.#limits = limits;
  }

  /**
   * The cgroups of one execution, named but not created yet: {@link materialize} creates them
   * (or takes a spare made ahead, from `spares`) just before the launch (LaunchPlan.materialize).
   */
  static plan(
    layout: CgroupLayout,
    launchId: string,
    limits: CgroupLimits,
    spares?: SpareDirs,
  ): ExecutionCgroups {
    const version = versionOf(layout);
    const dir = (controller: Controller, wanted: unknown): string | undefined =>
      wanted === undefined
        ? undefined
        : join(hierarchy(version, controller), PARENT, ownerTag(), launchId);
    return new ExecutionCgroups(
      version,
      {
        memory: dir('memory', limits.memoryBytes),
        pids: dir('pids', limits.maxProcesses),
        cpu: dir('cpu', limits.cpus),
      },
      limits,
      spares,
    );
  }

  /**
   * Creates the cgroups and writes their limits, or renames a spare made so ahead; then wants the
   * next spare of the kind, made once the execution is over (spare-dirs.ts). Throws (the caller
   * turns it into `spawn_failed`) when a hierarchy cannot be written; nothing is left behind
   * then. Idempotent.
   */
  materialize(): void {
    if (this.#created) return;
    const dirs = this.#dirs();
    const { memoryBytes, maxProcesses, cpus } = this.#limits;
    const kind = [...dirs.map(dirname), memoryBytes, maxProcesses, cpus].join('\n');
    if (this.#spares?.take(kind, dirs) !== true) this.#create(dirs);
    this.#created = true;
    this.#spares?.refill(kind, () => {
      // The same directories' siblings, named apart from every launch's; made as these are.
      const name = `spare-${randomUUID()}`;
      const sibling = (dir: string | undefined): string | undefined =>
        dir === undefined ? undefined : join(dirname(dir), name);
      const spare = new ExecutionCgroups(
        this.#version,
        {
          memory: sibling(this.#memoryDir),
          pids: sibling(this.#pidsDir),
          cpu: sibling(this.#cpuDir),
        },
        this.#limits,
      );
      spare.#create(spare.#dirs());
      return spare.#dirs();
    });
  }

  #create(dirs: readonly string[]): void {
    try {
      // The manager's directory first (made once; again after removeManagerCgroups() removed it,
      // which cannot happen in between: both run synchronously on this thread).
      const cpu = this.#cpuDir !== undefined;
      for (const dir of dirs) ensureManagerDir(this.#version, dirname(dir), cpu);
      for (const dir of dirs) mkdirSync(dir);
      this.#writeLimits(this.#limits);
    } catch (error) {
      for (const dir of dirs) tryRmdir(dir);
      throw error;
    }
  }

  /**
   * Where a launch's process goes (Confinement): on v2 the one cgroup it starts in
   * (CgroupVersion.cloneInto: no migration lock); on v1 the `tasks` file of each, which the
   * launcher's spawning thread joins for the spawn (a thread of its own: the kernel's fast
   * path, see cgroup-v1.ts) — the memory one moved into instead when its limit is tiny.
   */
  get placement(): Pick<Confinement, 'cgroup' | 'joins'> {
    if (this.#version.cloneInto) {
      const [dir, ...others] = this.#dirs();
      return dir === undefined || others.length > 0 ? {} : { cgroup: dir };
    }
    const joins: CgroupJoin[] = [];
    for (const [controller, dir] of [
      ['memory', this.#memoryDir],
      ['pids', this.#pidsDir],
      ['cpu', this.#cpuDir],
    ] as const) {
      const file = dir === undefined ? undefined : join(dir, this.#version.joinFile);
      if (file !== undefined && !joins.some((join) => join.file === file)) {
        const mount = this.#version.mount(controller) ?? hierarchy(this.#version, controller);
        const move = controller === 'memory' && this.#tinyMemory() ? { move: true as const } : {};
        joins.push({ controller, hierarchy: mount, file, ...move });
      }
    }
    return { joins };
  }

  // A memory limit too small for the launcher's spawning thread to sit in (CgroupJoin.move): on
  // v1 its process would count for that cgroup's OOM killer, which could pick the launcher and
  // every execution it started with it. Bun does not start in so little anyway.
  #tinyMemory(): boolean {
    const bytes = this.#limits.memoryBytes;
    return bytes !== undefined && bytes < THREAD_JOIN_MIN_MEMORY_BYTES;
  }

  /** The mechanism name for `enforcement`. */
  get mechanism(): 'cgroup-v1' | 'cgroup-v2' {
    return this.#version.mechanism;
  }

  /**
   * SIGKILLs every member now (a few passes, no waiting). Never throws. On v1 one hierarchy's
   * list is enough: a process is in all of them before it can fork (confinement.ts), so every
   * hierarchy holds the same members, and each read of `cgroup.procs` is a syscall on the path
   * of every execution.
   */
  kill(): void {
    if (this.#destroyed) return;
    const dirs = this.#dirs().slice(0, 1);
    const dir = dirs[0];
    if (dir !== undefined && this.#version.killAtOnce(dir)) return;
    for (let pass = 0; pass < 3; pass++) if (killMembers(dirs) === 0) return;
  }

  /**
   * Sends `signal` to every member for which `skip` is false (the grace-period SIGTERM goes to
   * the tool's processes, not to the bwrap processes around them). Never throws.
   */
  signal(signal: NodeJS.Signals, skip: (pid: number) => boolean): void {
    if (this.#destroyed) return;
    signalMembers(this.#dirs(), signal, skip);
  }

  /** What the limits saw (read after the process ended, before {@link destroy}). */
  inspect(): LimitReport {
    const memory = this.#memoryDir;
    const pids = this.#pidsDir;
    const memoryExceeded = memory !== undefined && this.#version.memoryExceeded(memory);
    const processesExceeded =
      pids === undefined ? false : (field(readOr(join(pids, 'pids.events')), 'max') ?? 0) > 0;
    return { memoryExceeded, processesExceeded };
  }

  /**
   * Kills every member until none is left, then removes the cgroups. rmdir fails with EBUSY
   * while killed tasks are still exiting, so both loop briefly. Idempotent; never throws.
   */
  destroy(): Promise<void> {
    this.#removal ??= this.#remove();
    return this.#removal;
  }

  /**
   * Like {@link destroy}, in `background` (see background.ts): the removal starts on
   * the next turn of the event loop, after the execution that disposed of the cgroups has settled.
   *
   * Why: bwrap's monitor exits as soon as the namespace's init reports Bun's exit status, while
   * that init is still exiting, so rmdir is EBUSY for a moment, longer under load; and even a
   * first rmdir that succeeds costs the settle path time (docs/performance.md, "Removing a cgroup
   * after its last member"). A bare `bwrap … bun` does not wait for it either.
   */
  destroyInBackground(background: Background): void {
    if (this.#removal !== undefined) return;
    background.add(
      new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.destroy()),
    );
  }

  async #remove(): Promise<void> {
    await removeCgroups(this.#dirs());
    this.#destroyed = true;
  }

  #dirs(): string[] {
    const all = [this.#memoryDir, this.#pidsDir, this.#cpuDir];
    return [...new Set(all.filter((d) => d !== undefined))];
  }

  /**
   * CPU seconds the execution's processes used so far, all of them together (cgroup-members.ts):
   * what bounds `cpuSeconds` across the processes of a tool with `run` (RLIMIT_CPU bounds each).
   */
  cpuSeconds(): number {
    const dir = this.#pidsDir ?? this.#memoryDir ?? this.#cpuDir;
    return dir === undefined || this.#destroyed ? 0 : cpuSecondsOf(dir);
  }

  #writeLimits(limits: CgroupLimits): void {
    const memory = this.#memoryDir;
    if (memory !== undefined && limits.memoryBytes !== undefined) {
      this.#version.limitMemory(memory, limits.memoryBytes);
    }
    if (this.#pidsDir !== undefined && limits.maxProcesses !== undefined) {
      writeFileSync(join(this.#pidsDir, 'pids.max'), String(limits.maxProcesses));
    }
    if (this.#cpuDir !== undefined && limits.cpus !== undefined) {
      this.#version.limitCpu(this.#cpuDir, limits.cpus);
    }
  }
}

// The object that knows the files and rules of the layout's cgroup version.
export function versionOf(layout: CgroupLayout): CgroupVersion {
  return layout.version === 'v1' ? cgroupV1(layout) : cgroupV2(layout);
}

function hierarchy(version: CgroupVersion, controller: Controller): string {
  const dir = version.hierarchy(controller);
  if (dir === undefined) throw new Error(`the ${controller} cgroup controller is not available`);
  return dir;
}
