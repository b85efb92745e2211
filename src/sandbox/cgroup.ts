/**
 * Per-execution cgroups: the memory limit (and OOM detection), the process limit, and a kill
 * that reaches every process of an execution. Layout, under each controller hierarchy:
 *
 *   <hierarchy>/toolcage/<manager pid>-<its start time>/<executionId>
 *
 * The manager's directory (named by owner.ts) is created with the first execution and removed
 * when a runtime closes with no execution left in it (and at exit); one left by a manager that
 * died is removed by {@link sweepStaleCgroupsIn}. Both cgroup v1 (this machine: one
 * hierarchy per controller) and v2 (one unified hierarchy, controllers delegated down through
 * `cgroup.subtree_control`) are written here; the layout comes from detection.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { inBackground } from './background.js';
import { isOwnerAlive, ownerTag, parseOwner } from './owner.js';
import type { LimitReport } from './types.js';

/** Where the controllers are, as detected. */
export type CgroupLayout =
  | {
      readonly version: 'v1';
      /** Hierarchy of the memory controller (`/sys/fs/cgroup/memory`), if usable. */
      readonly memory: string | undefined;
      /** Hierarchy of the pids controller (`/sys/fs/cgroup/pids`), if usable. */
      readonly pids: string | undefined;
    }
  | {
      readonly version: 'v2';
      /** The unified hierarchy (`/sys/fs/cgroup`). */
      readonly root: string;
      readonly memory: boolean;
      readonly pids: boolean;
    };

/** What one execution's cgroups limit. */
export interface CgroupLimits {
  readonly memoryBytes: number | undefined;
  readonly maxProcesses: number | undefined;
}

const PARENT = 'toolcage';
// rmdir fails with EBUSY for a few ms after the last member was reaped (measured: 0 to 6 ms on
// Linux 6.18, cgroup v1): poll quickly first, then back off; give up after ~2 s.
const RETRY_DELAYS_MS = [0, 1, 1, 1, 2, 2, 2, 5, 5, 10, 10, 20, 50, 100, 200, 300, 500, 800];
const createdRuntimeDirs = new Set<string>();
let exitHook = false;

/** One execution's cgroups (one per hierarchy on v1, one on v2). */
export class ExecutionCgroups {
  readonly #layout: CgroupLayout;
  readonly #memoryDir: string | undefined;
  readonly #pidsDir: string | undefined;
  readonly #limits: CgroupLimits;
  #created = false;
  #destroyed = false;
  #removal: Promise<void> | undefined;

  private constructor(
    layout: CgroupLayout,
    memoryDir: string | undefined,
    pidsDir: string | undefined,
    limits: CgroupLimits,
  ) {
    this.#layout = layout;
    this.#memoryDir = memoryDir;
    this.#pidsDir = pidsDir;
    this.#limits = limits;
  }

  /**
   * The cgroups of one execution, named but not created yet: {@link materialize} creates them,
   * so that a launch can do it while its process starts (see LaunchPlan.materialize).
   */
  static plan(layout: CgroupLayout, executionId: string, limits: CgroupLimits): ExecutionCgroups {
    const memoryDir = limits.memoryBytes === undefined ? undefined : hierarchy(layout, 'memory');
    const pidsDir = limits.maxProcesses === undefined ? undefined : hierarchy(layout, 'pids');
    return new ExecutionCgroups(
      layout,
      memoryDir === undefined ? undefined : join(memoryDir, PARENT, ownerTag(), executionId),
      pidsDir === undefined ? undefined : join(pidsDir, PARENT, ownerTag(), executionId),
      limits,
    );
  }

  /**
   * Creates the cgroups and writes their limits. Throws (the caller turns it into
   * `spawn_failed`) when a hierarchy cannot be written; nothing is left behind then. Idempotent.
   */
  materialize(): void {
    if (this.#created) return;
    const dirs = this.#dirs();
    try {
      // The manager's directory first (made once; again after releaseManagerCgroups() removed it,
      // which cannot happen in between: both run synchronously on this thread).
      for (const dir of dirs) ensureManagerDir(this.#layout, dirname(dir));
      for (const dir of dirs) mkdirSync(dir);
      this.#writeLimits(this.#limits);
    } catch (error) {
      for (const dir of dirs) tryRmdir(dir);
      throw error;
    }
    this.#created = true;
  }

  /**
   * The files a single-threaded process writes `0` (itself) to, to join every cgroup of the
   * execution: `tasks` on v1, `cgroup.procs` on v2.
   *
   * Why `tasks` on v1: a write to `cgroup.procs` (or of another task's pid) takes the global
   * cgroup_threadgroup_rwsem for writing, and after ~20 ms without a migration that waits for an
   * RCU grace period — 9–10 ms measured here (Linux 6.18, cgroup v1, median 11.6 ms for a
   * `sh` that joins two cgroups against 2.4 ms for one that joins none). Moving only the calling
   * thread (`0` written to `tasks`) skips that lock since Linux 6.0 (commit 9a3284fad42f,
   * "cgroup: Optimize single thread migration"): 2.6 ms for the same `sh`, whatever the idle
   * time. The prologue shell has one thread, so moving it moves the process, and everything it
   * `exec`s or forks afterwards starts inside. v2 has no such file for a domain cgroup.
   */
  get joinFiles(): string[] {
    const file = this.#layout.version === 'v1' ? 'tasks' : 'cgroup.procs';
    return this.#dirs().map((dir) => join(dir, file));
  }

  /** The mechanism name for `enforcement`. */
  get mechanism(): 'cgroup-v1' | 'cgroup-v2' {
    return this.#layout.version === 'v1' ? 'cgroup-v1' : 'cgroup-v2';
  }

  /**
   * SIGKILLs every member now (a few passes, no waiting). Never throws. On v1 one hierarchy's
   * list is enough: a process joins all of them before it can fork (launch-command.ts), so every
   * hierarchy holds the same members, and each read of `cgroup.procs` is a syscall on the path
   * of every execution.
   */
  kill(): void {
    if (this.#destroyed) return;
    const dirs = this.#dirs().slice(0, 1);
    if (this.#layout.version === 'v2') {
      // cgroup.kill (Linux 5.14) kills every member atomically, forks in flight included.
      const dir = dirs[0];
      if (dir !== undefined && tryWrite(join(dir, 'cgroup.kill'), '1')) return;
    }
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
    let memoryExceeded = false;
    if (memory !== undefined) {
      if (this.#layout.version === 'v1') {
        // `oom_kill N` in memory.oom_control (Linux 4.13+); older kernels only have failcnt,
        // which also counts reclaim at the limit, so it is the fallback, not the rule.
        const ooms = field(readOr(join(memory, 'memory.oom_control')), 'oom_kill');
        memoryExceeded =
          ooms === undefined ? Number(readOr(join(memory, 'memory.failcnt')) || 0) > 0 : ooms > 0;
      } else {
        const events = readOr(join(memory, 'memory.events'));
        memoryExceeded =
          (field(events, 'oom_kill') ?? 0) > 0 || (field(events, 'oom_group_kill') ?? 0) > 0;
      }
    }
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
   * Like {@link destroy}, in the background (see {@link inBackground}): the removal starts on
   * the next turn of the event loop, after the execution that released the cgroups has settled.
   *
   * Why: bwrap's monitor exits as soon as the namespace's init reports Bun's exit status, while
   * that init is still exiting, so rmdir is EBUSY for 0–2 ms on an idle machine and 10 ms and
   * more under load (measured, Linux 6.18). A bare `bwrap … bun` does not wait for it either.
   * Even a first rmdir that succeeds costs the settle path ≈ 0.1 ms for two hierarchies.
   */
  release(): void {
    if (this.#removal !== undefined) return;
    inBackground(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.destroy()));
  }

  async #remove(): Promise<void> {
    const dirs = this.#dirs();
    // rmdir first: it fails (EBUSY) while any member is left, so an empty cgroup costs no read of
    // its member list; members are killed only when it did fail.
    for (const delay of RETRY_DELAYS_MS) {
      if (dirs.every((dir) => tryRmdir(dir))) break;
      killMembers(dirs);
      await sleep(delay);
    }
    this.#destroyed = true;
  }

  #dirs(): string[] {
    return [...new Set([this.#memoryDir, this.#pidsDir].filter((d) => d !== undefined))];
  }

  #writeLimits(limits: CgroupLimits): void {
    const memory = this.#memoryDir;
    if (memory !== undefined && limits.memoryBytes !== undefined) {
      const bytes = String(limits.memoryBytes);
      if (this.#layout.version === 'v1') {
        writeFileSync(join(memory, 'memory.limit_in_bytes'), bytes);
        // memory+swap must be ≥ memory, so it is set after; equal values mean no swap at all.
        const memsw = join(memory, 'memory.memsw.limit_in_bytes');
        if (existsSync(memsw)) writeFileSync(memsw, bytes);
      } else {
        writeFileSync(join(memory, 'memory.max'), bytes);
        const swap = join(memory, 'memory.swap.max');
        if (existsSync(swap)) writeFileSync(swap, '0');
        // One OOM kill takes the whole sandbox, not just the largest process.
        const group = join(memory, 'memory.oom.group');
        if (existsSync(group)) writeFileSync(group, '1');
      }
    }
    if (this.#pidsDir !== undefined && limits.maxProcesses !== undefined) {
      writeFileSync(join(this.#pidsDir, 'pids.max'), String(limits.maxProcesses));
    }
  }
}

/**
 * Removes the cgroups of managers that are gone: `toolcage/<pid>-<start>` directories whose
 * owner no longer runs (see owner.ts), and `toolcage/<pid>` ones (named so before the start
 * time was part of the name) whose pid is free. What is still in them is killed first (a tool
 * whose manager was SIGKILLed outlives it when nothing else killed it). Returns the directories
 * removed; one still busy is left for the next sweep. Never throws.
 */
export async function sweepStaleCgroupsIn(layout: CgroupLayout): Promise<string[]> {
  const removed: string[] = [];
  for (const hierarchyDir of hierarchies(layout)) {
    const parent = join(hierarchyDir, PARENT);
    for (const name of listDirs(parent)) {
      if (!isStale(name)) continue;
      const manager = join(parent, name);
      const executions = listDirs(manager).map((execution) => join(manager, execution));
      removed.push(...(await removeKilling(executions)));
      if (tryRmdir(manager)) removed.push(manager);
    }
  }
  return removed;
}

// A manager directory whose owner is gone.
function isStale(name: string): boolean {
  if (/^\d+$/.test(name)) return !isAlive(Number(name));
  const owner = parseOwner(name);
  return owner !== undefined && `${owner.pid}-${owner.start}` === name && !isOwnerAlive(owner);
}

// Kills the members of each cgroup and removes it, retrying while killed tasks still exit.
async function removeKilling(dirs: readonly string[]): Promise<string[]> {
  let left = [...dirs];
  for (const delay of RETRY_DELAYS_MS) {
    if (left.length === 0) break;
    killMembers(left);
    left = left.filter((dir) => !tryRmdir(dir));
    if (left.length > 0) await sleep(delay);
  }
  return dirs.filter((dir) => !left.includes(dir));
}

/**
 * Removes this process's own `toolcage/<pid>-<start>` directories that no execution uses any more
 * (rmdir fails on one that still has a cgroup in it); the next execution makes them again. So a
 * runtime that closed leaves nothing, even if the process then ends without its 'exit' hook (as
 * one re-raising a signal does). Never throws.
 */
export function releaseManagerCgroups(): void {
  for (const dir of createdRuntimeDirs) if (tryRmdir(dir)) createdRuntimeDirs.delete(dir);
}

/** `toolcage/<pid>-<start>` of this process in a hierarchy, created (once) with its delegation. */
function ensureManagerDir(layout: CgroupLayout, dir: string): void {
  if (createdRuntimeDirs.has(dir)) return;
  const parent = dirname(dir);
  const hierarchyDir = dirname(parent);
  mkdirSync(dir, { recursive: true });
  if (layout.version === 'v2') {
    // v2 hands a controller to children only when every ancestor enables it in subtree_control.
    const enable = [layout.memory ? '+memory' : '', layout.pids ? '+pids' : '']
      .filter(Boolean)
      .join(' ');
    for (const dirToEnable of [hierarchyDir, parent, dir]) {
      writeFileSync(join(dirToEnable, 'cgroup.subtree_control'), enable);
    }
  }
  if (createdRuntimeDirs.size === 0 && !exitHook) {
    exitHook = true;
    // Empty by then (every execution removes its own): rmdir at exit, best effort.
    process.once('exit', releaseManagerCgroups);
  }
  createdRuntimeDirs.add(dir);
}

function hierarchy(layout: CgroupLayout, controller: 'memory' | 'pids'): string {
  const dir =
    layout.version === 'v1' ? layout[controller] : layout[controller] ? layout.root : undefined;
  if (dir === undefined) throw new Error(`the ${controller} cgroup controller is not available`);
  return dir;
}

function hierarchies(layout: CgroupLayout): string[] {
  if (layout.version === 'v2') return [layout.root];
  return [...new Set([layout.memory, layout.pids].filter((d) => d !== undefined))];
}

// SIGKILLs the members of `dirs`; returns how many it found.
function killMembers(dirs: readonly string[]): number {
  return signalMembers(dirs, 'SIGKILL', () => false);
}

// Signals the members of `dirs` (but those `skip` names); returns how many it found.
function signalMembers(
  dirs: readonly string[],
  signal: NodeJS.Signals,
  skip: (pid: number) => boolean,
): number {
  let found = 0;
  for (const dir of dirs) {
    for (const line of readOr(join(dir, 'cgroup.procs')).split('\n')) {
      const pid = Number(line);
      // 0: a member of another PID namespace, invisible from ours.
      if (!Number.isSafeInteger(pid) || pid <= 0) continue;
      found++;
      if (skip(pid)) continue;
      try {
        process.kill(pid, signal);
      } catch {
        // ESRCH: it exited meanwhile.
      }
    }
  }
  return found;
}

function field(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === name && value !== undefined) return Number(value);
  }
  return undefined;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tryWrite(path: string, text: string): boolean {
  try {
    writeFileSync(path, text);
    return true;
  } catch {
    return false;
  }
}

// True when the directory is gone (removed now, or already).
function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
