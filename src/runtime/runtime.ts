import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import { createEgressProxy } from '../network/proxy.js';
import { Background } from '../sandbox/background.js';
import { createSandbox } from '../sandbox/sandbox.js';
import type { Sandbox } from '../sandbox/types.js';
import { bunVersion, resolveBunBinary } from './bun-binary.js';
import { effectiveProfile } from './effective.js';
import { execute, type ExecutionEnvironment } from './execution.js';
import { createObserver } from './observe.js';
import {
  normalizeOptions,
  validateRequestTypes,
  type NormalizedOptions,
  type ExecuteRequest,
  type ExecuteResult,
  type ToolRuntimeOptions,
} from './runtime-options.js';
import { Launcher } from './launcher-client.js';
import { packageFiles, type PackageFiles } from './package-files.js';
import { ProcessPool } from './pool.js';
import { GRACE_FLAG } from './worker/protocol.js';
import { SlotQueue } from './queue.js';
import { createBundler } from './bundler-host.js';
import { BUILD_TIMEOUT_MS } from '../bundling/run-compiler.js';
import { ToolResolver } from './resolve-tool.js';
import { startSweeping, type Sweeper } from './sweeper.js';

/** A runtime: a registry of tools, a bounded queue, a process pool and the sandbox. */
export interface ToolRuntime {
  /**
   * Runs one tool in a fresh, sandboxed Bun process under a deadline. Rejects with a
   * {@link ToolExecutionError} whose `kind` says why; throws `TypeError` synchronously when an
   * option has the wrong type.
   */
  executeToolWithTimeout<T = unknown>(request: ExecuteRequest): Promise<ExecuteResult<T>>;
  /** Executions running and waiting right now. */
  readonly stats: {
    readonly running: number;
    readonly queued: number;
    readonly idleProcesses: number;
  };
  /**
   * What the runtime was configured with, for code that sizes itself after it (a Temporal
   * worker takes `concurrency` as its activity slots; its activity refuses `toolPath` unless
   * `allowAdHocTools`).
   */
  readonly settings: ToolRuntimeSettings;
  /** Kills everything still running (`cancelled`), rejects the queue, drains the pool. Idempotent. */
  close(): Promise<void>;
}

/** The settings of a runtime that other code may size itself after ({@link ToolRuntime.settings}). */
export interface ToolRuntimeSettings {
  /** Executions running at once. */
  readonly concurrency: number;
  /** Executions waiting for a slot before one more is rejected (`resource_limit`, limit `queue`). */
  readonly maxQueued: number;
  /** Whether `toolPath` requests are accepted. */
  readonly allowAdHocTools: boolean;
}

/**
 * Creates a runtime. Options are validated at once (TypeError on misuse). It sweeps, at once
 * and then every minute, what runtimes of processes that are gone left behind.
 */
export function createToolRuntime(options: ToolRuntimeOptions = {}): ToolRuntime {
  const normalized = normalizeOptions(options);
  // The egress proxy of allow-lists serves this runtime's sandbox.
  const egress = createEgressProxy(normalized.network);
  const sandbox = createSandbox({
    egress,
    sandboxUser: normalized.sandboxUser,
    cgroupParent: normalized.cgroupParent,
    requireCgroups: normalized.requireCgroups,
  });
  return createRuntimeFrom(normalized, sandbox);
}

/** {@link createToolRuntime} over a given sandbox (tests set one up over fakes); not exported by the package. */
export function createToolRuntimeOn(options: ToolRuntimeOptions, sandbox: Sandbox): ToolRuntime {
  return createRuntimeFrom(normalizeOptions(options), sandbox);
}

function createRuntimeFrom(normalized: NormalizedOptions, sandbox: Sandbox): ToolRuntime {
  const bunPath = normalized.bunPath ?? resolveBunBinary();
  const files = packageFiles();
  const sweeper = startSweeping(() => sandbox.sweep());
  const launcher = new Launcher(bunPath, files.launcher);
  // What a sandboxed tool process must be able to read of toolcage: the worker's directory (its
  // entry and slow paths) and the bunfig. Not the entry apart: a bind of its own inside the
  // directory's would cost every cold call a mount for nothing (system-view.ts).
  const readable = [files.bunfig, files.workerDir];
  const pool = new ProcessPool({
    sandbox,
    mode: normalized.sandbox,
    bunPath,
    bunArgs: workerArgs(files, normalized.killGraceMs),
    worker: files.worker,
    runtimeFiles: readable,
    prewarm: normalized.prewarm,
    idleMs: normalized.prewarmIdleMs,
    maxProfiles: Math.max(8, normalized.tools.size),
    launcher,
  });
  const closing = new AbortController();
  const environment: ExecutionEnvironment = {
    options: normalized,
    tools: new ToolResolver(normalized),
    sandbox,
    queue: new SlotQueue(normalized.concurrency, normalized.maxQueued),
    pool,
    bundler: createBundler(normalized, {
      sandbox,
      bunPath,
      bunVersion: () => bunVersion(bunPath),
      files,
      launcher,
    }),
    closing: closing.signal,
    onClose: new Set(),
    observer: createObserver({
      enabled: normalized.telemetry,
      meterProvider: normalized.meterProvider,
      tracerProvider: normalized.tracerProvider,
    }),
    bunVersion: () => bunVersion(bunPath),
    runtimeFiles: [bunPath, ...readable],
    teardowns: new Background(),
  };
  const warming = new Set<Promise<void>>();
  if (normalized.prewarm > 0) warmRegisteredTools(environment, warming);
  return runtimeHandle(environment, { closing, launcher, sweeper, warming });
}

// --no-install: never fetch a package; --no-env-file: never read the tool's .env; the project's
// bunfig is passed explicitly so nothing is read from the tool's directory.
function workerArgs(files: PackageFiles, killGraceMs: number): string[] {
  return [
    '--no-install',
    '--no-env-file',
    `--config=${files.bunfig}`,
    files.worker,
    // Only with a grace period does the worker catch SIGTERM (otherwise it ends at once).
    ...(killGraceMs > 0 ? [GRACE_FLAG] : []),
  ];
}

// Registered tools are built (or found in the cache) and warmed ahead of their first request,
// with their own profile; each warming is in `warming` until it is over (close() waits for it).
function warmRegisteredTools(environment: ExecutionEnvironment, warming: Set<Promise<void>>): void {
  const { options, tools, pool, bundler, closing } = environment;
  const warmTool = async (id: string): Promise<void> => {
    const tool = tools.resolve({ toolId: id });
    const profile = effectiveProfile(options, tool, {});
    const module = await bundler.module(tool, profile.permissions, {
      signal: closing,
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    if (closing.aborted) return;
    pool.warm({
      toolPath: module.modulePath,
      view: module.view,
      masked: module.masked,
      ...profile,
      preload: tool.definition?.preload === true,
      carriesWorker: module.carriesWorker,
    });
  };
  for (const id of options.tools.keys()) {
    const warm = warmTool(id).catch(() => {
      // A tool that cannot be resolved or built now fails clearly when it is called.
    });
    warming.add(warm);
    void warm.finally(() => warming.delete(warm));
  }
}

/** What a runtime ends in `close()`, besides its executions. */
interface RuntimeParts {
  readonly closing: AbortController;
  readonly launcher: Launcher;
  readonly sweeper: Sweeper;
  readonly warming: ReadonlySet<Promise<void>>;
}

// The runtime as its caller holds it: calls (type-checked, tracked until they settle), stats,
// settings, and close(), which ends everything in order — calls, builds and warmings, pool,
// launcher, sweeps, background clean-up.
function runtimeHandle(environment: ExecutionEnvironment, parts: RuntimeParts): ToolRuntime {
  const { queue, pool, bundler, options } = environment;
  const { closing, launcher, sweeper, warming } = parts;
  const running = new Set<Promise<unknown>>();
  let closed: Promise<void> | undefined;
  const settings: ToolRuntimeSettings = Object.freeze({
    concurrency: options.concurrency,
    maxQueued: options.maxQueued,
    allowAdHocTools: options.allowAdHocTools,
  });
  return {
    settings,
    executeToolWithTimeout<T>(request: ExecuteRequest): Promise<ExecuteResult<T>> {
      validateRequestTypes(request);
      if (closing.signal.aborted) {
        return Promise.reject(
          new ToolExecutionError({
            kind: ErrorKind.Cancelled,
            toolId: request.toolId ?? request.toolPath ?? '(none)',
            message: 'The runtime is closed',
          }),
        );
      }
      const promise = execute(environment, request) as Promise<ExecuteResult<T>>;
      running.add(promise);
      const forget = (): void => {
        running.delete(promise);
      };
      promise.then(forget, forget);
      return promise;
    },
    get stats() {
      return { running: queue.active, queued: queue.queued, idleProcesses: pool.idleCount };
    },
    close(): Promise<void> {
      closed ??= (async () => {
        closing.abort();
        for (const handler of [...environment.onClose]) handler();
        await Promise.allSettled([...running]);
        await bundler.close();
        await Promise.allSettled([...warming]);
        await pool.close();
        await launcher.close();
        await sweeper.stop();
        // What settled executions left in the background: their teardowns, then the cgroups,
        // temp dirs and sessions of their plans.
        await environment.teardowns.settled();
        await environment.sandbox.settled();
      })();
      return closed;
    },
  };
}
