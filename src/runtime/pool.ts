import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type {
  LaunchPlan,
  ResolvedLimits,
  ResolvedPermissions,
  Sandbox,
  SandboxMode,
} from '../sandbox/types.js';
import { killProcessGroup } from './kill-tree.js';
import { spawnPlan, type SpawnedProcess } from './spawn.js';

/** What a launch needs to know; two launches with equal profiles may share prewarmed processes. */
export interface LaunchSpec {
  readonly toolPath: string;
  readonly permissions: ResolvedPermissions;
  readonly limits: ResolvedLimits;
}

/** A started process and the plan it runs under. */
export interface Launched {
  readonly plan: LaunchPlan;
  readonly child: SpawnedProcess;
}

export interface PoolOptions {
  readonly sandbox: Sandbox;
  readonly mode: SandboxMode;
  readonly bunPath: string;
  readonly bunArgs: readonly string[];
  readonly runtimeFiles: readonly string[];
  /** Idle processes kept per profile. */
  readonly prewarm: number;
  /** Idle processes are retired after this long. */
  readonly idleMs: number;
  /** Profiles kept warm at most (least recently used goes first). */
  readonly maxProfiles: number;
}

interface Idle {
  readonly launched: Launched;
  readonly timer: NodeJS.Timeout;
}

/**
 * Starts tool processes, fresh or ahead of demand. A prewarmed process is started inside its
 * sandbox with exactly the profile (tool directory, permissions, limits) of the request that
 * takes it, waits for its one request on stdin, and serves exactly one execution: isolation is
 * never traded for speed. The environment is not part of the profile: every process starts
 * with an empty one and receives the tool's variables with its request.
 */
export class ProcessPool {
  readonly #options: PoolOptions;
  readonly #idle = new Map<string, Idle[]>();
  readonly #starting = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Idle processes right now (all profiles). */
  get idleCount(): number {
    let count = 0;
    for (const list of this.#idle.values()) count += list.length;
    return count;
  }

  /** A process for one execution: a prewarmed one of the same profile, or a fresh one. */
  async launch(spec: LaunchSpec): Promise<Launched> {
    const key = profileKey(spec);
    const warm = this.#takeIdle(key);
    if (this.#options.prewarm > 0) this.#refill(key, spec);
    if (warm !== undefined) return warm;
    return this.#start(spec);
  }

  /** Starts `prewarm` processes for a profile ahead of its first request. */
  warm(spec: LaunchSpec): void {
    if (this.#options.prewarm > 0) this.#refill(profileKey(spec), spec);
  }

  /** Kills and disposes every idle process; later launches start fresh ones. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = [...this.#idle.values()].flat();
    this.#idle.clear();
    await Promise.allSettled([...this.#pending]);
    // Refills that were under way have landed in the map meanwhile.
    idle.push(...[...this.#idle.values()].flat());
    this.#idle.clear();
    await Promise.all(idle.map(async (entry) => this.#retire(entry)));
  }

  async #start(spec: LaunchSpec): Promise<Launched> {
    const executionId = randomUUID();
    const plan = await this.#options.sandbox.prepare({
      executionId,
      bunPath: this.#options.bunPath,
      bunArgs: this.#options.bunArgs,
      toolPath: spec.toolPath,
      runtimeFiles: this.#options.runtimeFiles,
      env: {},
      permissions: spec.permissions,
      limits: spec.limits,
      mode: this.#options.mode,
    });
    let child: SpawnedProcess;
    try {
      child = spawnPlan(plan);
    } catch (error) {
      await plan.dispose();
      throw error;
    }
    return { plan, child };
  }

  #takeIdle(key: string): Launched | undefined {
    const list = this.#idle.get(key);
    const entry = list?.shift();
    if (list !== undefined && list.length === 0) this.#idle.delete(key);
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    return entry.launched;
  }

  // Tops the profile up to `prewarm` idle processes, in the background.
  #refill(key: string, spec: LaunchSpec): void {
    if (this.#closed) return;
    const have = (this.#idle.get(key)?.length ?? 0) + (this.#starting.get(key) ?? 0);
    for (let i = have; i < this.#options.prewarm; i++) {
      this.#starting.set(key, (this.#starting.get(key) ?? 0) + 1);
      const started = this.#start(spec).then(
        (launched) => this.#park(key, launched),
        () => undefined, // A failed prewarm is not an error: the request will start its own.
      );
      const tracked = started.finally(() => {
        this.#starting.set(key, (this.#starting.get(key) ?? 1) - 1);
        this.#pending.delete(tracked);
      });
      this.#pending.add(tracked);
    }
  }

  #park(key: string, launched: Launched): void {
    if (this.#closed || this.#options.prewarm === 0) {
      void this.#retire({ launched, timer: setTimeout(() => {}, 0) });
      return;
    }
    const entry: Idle = {
      launched,
      timer: setTimeout(() => {
        const list = this.#idle.get(key);
        const index = list?.indexOf(entry) ?? -1;
        if (list !== undefined && index !== -1) list.splice(index, 1);
        if (list?.length === 0) this.#idle.delete(key);
        void this.#retire(entry);
      }, this.#options.idleMs),
    };
    entry.timer.unref();
    // A process that died while idle (killed from outside) must not be handed out.
    void launched.child.exited.then(() => {
      const list = this.#idle.get(key);
      const index = list?.indexOf(entry) ?? -1;
      if (list !== undefined && index !== -1) {
        list.splice(index, 1);
        if (list.length === 0) this.#idle.delete(key);
        void this.#retire(entry);
      }
    });
    const list = this.#idle.get(key) ?? [];
    list.push(entry);
    // Least recently refilled profiles go first when there are too many.
    this.#idle.delete(key);
    this.#idle.set(key, list);
    while (this.#idle.size > this.#options.maxProfiles) {
      const [oldestKey, oldest] = this.#idle.entries().next().value as [string, Idle[]];
      this.#idle.delete(oldestKey);
      for (const stale of oldest) void this.#retire(stale);
    }
  }

  async #retire(entry: Idle): Promise<void> {
    clearTimeout(entry.timer);
    const { plan, child } = entry.launched;
    killProcessGroup(child.pid, 'SIGKILL');
    plan.killAll();
    for (const stream of [child.stdin, child.stdout, child.stderr, child.result]) stream.destroy();
    await child.closed;
    await plan.dispose();
  }
}

// Everything a process is started with, except the per-call request (and its environment).
function profileKey(spec: LaunchSpec): string {
  return JSON.stringify([dirname(spec.toolPath), spec.toolPath, spec.permissions, spec.limits]);
}
