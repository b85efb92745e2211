import { PRELOAD_FLAG } from './worker/protocol.js';
import { randomUUID } from 'node:crypto';
import type {
  LaunchPlan,
  MaskedEntry,
  ResolvedLimits,
  ResolvedPermissions,
  Sandbox,
  SandboxMode,
  ToolView,
} from '../sandbox/types.js';
import { killProcessGroup } from './kill-tree.js';
import type { Launcher } from './launcher-client.js';
import { spawnPlan, type SpawnedProcess } from './spawn.js';

/**
 * The environment every tool process starts with; the tool's own variables come with its
 * request (so a prewarmed process needs none). BUN_RUNTIME_TRANSPILER_CACHE_PATH=0 turns off
 * Bun's runtime transpiler cache: with a fresh HOME per execution, Bun otherwise creates
 * `$HOME/.bun/install/cache/@t@/` and writes a `.pile` of the worker (and the tool) on every
 * start, which never hits (docs/performance.md, "Bun's transpiler cache"). A shared
 * cache would be faster but is state shared between executions (a tool could plant one).
 */
const WORKER_ENV: Readonly<Record<string, string>> = { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0' };

/** What a launch needs to know; two launches with equal profiles may share prewarmed processes. */
export interface LaunchSpec {
  /** The module the worker imports: the tool's bundle, or its source with `bundle: false`. */
  readonly toolPath: string;
  /** What the sandbox shows of the tool (part of the profile: a new bundle is a new profile). */
  readonly view: ToolView;
  /** Secret-bearing entries hidden in the directories shown (part of the profile too). */
  readonly masked?: readonly MaskedEntry[];
  readonly permissions: ResolvedPermissions;
  readonly limits: ResolvedLimits;
  /** Import the tool in a prewarmed process before its request (ToolDefinition.preload). */
  readonly preload?: boolean;
  /**
   * The tool's bundle carries the worker (see worker/run.ts): Bun runs `toolPath` in the
   * worker's place.
   */
  readonly carriesWorker?: boolean;
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
  /** Bun's flags, the worker's entry (`worker`), and the worker's flags. */
  readonly bunArgs: readonly string[];
  /** The worker's entry in `bunArgs`: a bundle that carries the worker runs in its place. */
  readonly worker?: string;
  readonly runtimeFiles: readonly string[];
  /** Idle processes kept per profile. */
  readonly prewarm: number;
  /** Idle processes are retired after this long. */
  readonly idleMs: number;
  /** Profiles kept warm at most (least recently used goes first). */
  readonly maxProfiles: number;
  /** Starts processes without forking the manager, once it is up (see launcher/main.ts). */
  readonly launcher?: Launcher;
}

interface Idle {
  readonly launched: Launched;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Starts tool processes, fresh or ahead of demand. A prewarmed process is started inside its
 * sandbox with exactly the profile (tool module and view, permissions, limits) of the request that
 * takes it, waits for its one request on stdin, and serves exactly one execution: isolation is
 * never traded for speed. The environment is not part of the profile: every process starts
 * with an empty one and receives the tool's variables with its request.
 *
 * Bounded: at most `prewarm` processes idle or starting per profile, at most `maxProfiles`
 * profiles (least recently refilled out first); an idle process is retired after `idleMs`.
 * Every retirement is tracked, so `close()` resolves only once nothing the pool started is left.
 */
export class ProcessPool {
  readonly #options: PoolOptions;
  readonly #idle = new Map<string, Idle[]>();
  readonly #starting = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #retiring = new Set<Promise<void>>();
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

  /**
   * A process for one execution: a prewarmed one of the same profile, or a fresh one. The
   * profile is topped up again once this process is gone and its execution has settled. Why
   * not at once: a refill forks (synchronous in Node) and boots a Bun on the path of the very
   * execution that just took a warm process (docs/performance.md, "Refilling the pool after
   * the call").
   */
  async launch(executionId: string, spec: LaunchSpec): Promise<Launched> {
    if (this.#options.prewarm === 0) return this.#start(executionId, spec, false);
    const key = profileKey(spec);
    const launched = this.#takeIdle(key) ?? (await this.#start(executionId, spec, false));
    void launched.child.closed.then(() => {
      setImmediate(() => this.#refill(key, spec));
    });
    return launched;
  }

  /** Starts `prewarm` processes for a profile ahead of its first request. */
  warm(spec: LaunchSpec): void {
    this.#refill(profileKey(spec), spec);
  }

  /** Kills and disposes every idle process and every refill under way; later launches start fresh ones. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#retireAllIdle();
    // Refills under way land in #park, which retires them now that the pool is closed.
    await Promise.allSettled([...this.#pending]);
    this.#retireAllIdle();
    while (this.#retiring.size > 0) await Promise.allSettled([...this.#retiring]);
  }

  // `launchId` names the process's cgroups (LaunchRequest.launchId).
  async #start(launchId: string, spec: LaunchSpec, prewarmed: boolean): Promise<Launched> {
    const { worker, launcher } = this.#options;
    // The launcher starts while the launch is prepared (spawnPlan waits for it).
    void launcher?.whenReady();
    const bunArgs =
      spec.carriesWorker === true && worker !== undefined
        ? this.#options.bunArgs.map((arg) => (arg === worker ? spec.toolPath : arg))
        : this.#options.bunArgs;
    const plan = await this.#options.sandbox.prepare({
      launchId,
      bunPath: this.#options.bunPath,
      // Only a prewarmed process imports ahead: a fresh one gets its request at once anyway.
      bunArgs:
        spec.preload === true && prewarmed
          ? [...bunArgs, `${PRELOAD_FLAG}${spec.toolPath}`]
          : bunArgs,
      toolPath: spec.toolPath,
      view: spec.view,
      ...(spec.masked === undefined || spec.masked.length === 0 ? {} : { masked: spec.masked }),
      runtimeFiles: this.#options.runtimeFiles,
      env: WORKER_ENV,
      permissions: spec.permissions,
      limits: spec.limits,
      mode: this.#options.mode,
    });
    let child: SpawnedProcess;
    try {
      child = await spawnPlan(plan, launcher);
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
    if (this.#closed || this.#options.prewarm === 0) return;
    const have = (this.#idle.get(key)?.length ?? 0) + (this.#starting.get(key) ?? 0);
    for (let i = have; i < this.#options.prewarm; i++) {
      this.#starting.set(key, (this.#starting.get(key) ?? 0) + 1);
      const started = this.#start(`prewarm-${randomUUID()}`, spec, true).then(
        (launched) => this.#park(key, launched),
        () => undefined, // A failed prewarm is not an error: the request will start its own.
      );
      const tracked = started.finally(() => {
        const left = (this.#starting.get(key) ?? 1) - 1;
        if (left > 0) this.#starting.set(key, left);
        else this.#starting.delete(key);
        this.#pending.delete(tracked);
      });
      this.#pending.add(tracked);
    }
  }

  #park(key: string, launched: Launched): void {
    const entry: Idle = { launched, timer: undefined };
    if (this.#closed) {
      this.#retire(entry);
      return;
    }
    entry.timer = setTimeout(() => this.#unpark(key, entry), this.#options.idleMs);
    entry.timer.unref();
    // A process that died while idle (killed from outside) must not be handed out.
    void launched.child.exited.then(() => this.#unpark(key, entry));
    const list = this.#idle.get(key) ?? [];
    list.push(entry);
    // Least recently refilled profiles go first when there are too many.
    this.#idle.delete(key);
    this.#idle.set(key, list);
    while (this.#idle.size > this.#options.maxProfiles) {
      const [oldestKey, oldest] = this.#idle.entries().next().value as [string, Idle[]];
      this.#idle.delete(oldestKey);
      for (const stale of oldest) this.#retire(stale);
    }
  }

  // Takes an entry out of the idle list (if it is still there) and retires it.
  #unpark(key: string, entry: Idle): void {
    const list = this.#idle.get(key);
    const index = list?.indexOf(entry) ?? -1;
    if (list === undefined || index === -1) return;
    list.splice(index, 1);
    if (list.length === 0) this.#idle.delete(key);
    this.#retire(entry);
  }

  #retireAllIdle(): void {
    const idle = [...this.#idle.values()].flat();
    this.#idle.clear();
    for (const entry of idle) this.#retire(entry);
  }

  // Kills an idle process's whole tree, closes its pipes and disposes its plan; tracked for close().
  #retire(entry: Idle): void {
    clearTimeout(entry.timer);
    const { plan, child } = entry.launched;
    killProcessGroup(child.pid, 'SIGKILL');
    plan.killAll();
    for (const stream of [child.stdin, child.stdout, child.stderr, child.result]) stream.destroy();
    const retiring = (async () => {
      await child.closed;
      await plan.dispose();
    })();
    this.#retiring.add(retiring);
    void retiring.finally(() => this.#retiring.delete(retiring));
  }
}

// Everything a process is started with, except the per-call request (and its environment).
function profileKey(spec: LaunchSpec): string {
  return JSON.stringify([
    spec.toolPath,
    spec.view,
    spec.masked ?? [],
    spec.permissions,
    spec.limits,
    spec.preload === true,
    spec.carriesWorker === true,
  ]);
}
