import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import { createEgressProxy } from '../network/proxy.js';
import { createSandbox, settleSandboxCleanup } from '../sandbox/sandbox.js';
import type { Sandbox } from '../sandbox/types.js';
import { bunVersion, resolveBunBinary } from './bun-binary.js';
import { effectiveProfile } from './effective.js';
import { execute, type ExecutionEnvironment } from './execution.js';
import { createObserver } from './observe.js';
import {
  normalizeOptions,
  validateRequestTypes,
  type ExecuteRequest,
  type ExecuteResult,
  type ToolRuntimeOptions,
} from './options.js';
import { Launcher } from './launcher.js';
import { packageFiles } from './package-files.js';
import { GRACE_ARG, ProcessPool } from './pool.js';
import { SlotQueue } from './queue.js';
import { createBundler } from '../build/create-bundler.js';
import { BUILD_TIMEOUT_MS } from '../build/sandboxed-build.js';
import { ToolResolver } from './resolve-tool.js';
import { startSweeping } from './sweeper.js';

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
  // The egress proxy of allow-lists serves this runtime's sandbox (validated, then again below).
  const { network } = normalizeOptions(options);
  return createToolRuntimeOn(options, createSandbox({ egress: createEgressProxy(network) }));
}

/** {@link createToolRuntime} over a given sandbox (tests set one up over fakes); not exported by the package. */
export function createToolRuntimeOn(options: ToolRuntimeOptions, sandbox: Sandbox): ToolRuntime {
  const normalized = normalizeOptions(options);
  const bunPath = normalized.bunPath ?? resolveBunBinary();
  const files = packageFiles();
  const { worker, workerDir, bunfig } = files;
  const sweeper = startSweeping(() => sandbox.sweep());
  const launcher = new Launcher(bunPath, files.launcher);
  const runtimeFiles = [worker, bunfig, workerDir];
  const pool = new ProcessPool({
    sandbox,
    mode: normalized.sandbox,
    bunPath,
    // --no-install: never fetch a package; --no-env-file: never read the tool's .env; the
    // project's bunfig is passed explicitly so nothing is read from the tool's directory.
    bunArgs: [
      '--no-install',
      '--no-env-file',
      `--config=${bunfig}`,
      worker,
      // Only with a grace period does the worker catch SIGTERM (otherwise it ends at once).
      ...(normalized.killGraceMs > 0 ? [GRACE_ARG] : []),
    ],
    runtimeFiles,
    prewarm: normalized.prewarm,
    idleMs: normalized.prewarmIdleMs,
    maxProfiles: Math.max(8, normalized.tools.size),
    launcher,
  });
  const closing = new AbortController();
  const closeHandlers = new Set<() => void>();
  const queue = new SlotQueue(normalized.concurrency, normalized.maxQueued);
  const running = new Set<Promise<unknown>>();
  const tools = new ToolResolver(normalized);
  const bundler = createBundler(normalized, {
    sandbox,
    bunPath,
    bunVersion: () => bunVersion(bunPath),
    files,
    launcher,
  });
  const environment: ExecutionEnvironment = {
    options: normalized,
    tools,
    sandbox,
    queue,
    pool,
    bundler,
    closing: closing.signal,
    onClose: closeHandlers,
    observer: createObserver({
      enabled: normalized.telemetry,
      meterProvider: normalized.meterProvider,
      tracerProvider: normalized.tracerProvider,
    }),
    get bunVersion() {
      return bunVersion(bunPath);
    },
    runtimeFiles: [bunPath, ...runtimeFiles],
  };

  // Registered tools are built (or found in the cache) and warmed ahead of their first
  // request, with their own profile.
  const warming = new Set<Promise<void>>();
  if (normalized.prewarm > 0) {
    for (const id of normalized.tools.keys()) {
      const warm = warmTool(id).catch(() => {
        // A tool that cannot be resolved or built now fails clearly when it is called.
      });
      warming.add(warm);
      void warm.finally(() => warming.delete(warm));
    }
  }
  async function warmTool(id: string): Promise<void> {
    const tool = tools.resolve({ toolId: id });
    const profile = effectiveProfile(normalized, tool, {});
    const module = await bundler.module(tool, profile.permissions, {
      signal: closing.signal,
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    if (closing.signal.aborted) return;
    pool.warm({
      toolPath: module.modulePath,
      view: module.view,
      ...profile,
      preload: tool.definition?.preload === true,
    });
  }

  let closed: Promise<void> | undefined;
  const settings: ToolRuntimeSettings = Object.freeze({
    concurrency: normalized.concurrency,
    maxQueued: normalized.maxQueued,
    allowAdHocTools: normalized.allowAdHocTools,
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
        for (const handler of [...closeHandlers]) handler();
        await Promise.allSettled([...running]);
        await bundler.close();
        await Promise.allSettled([...warming]);
        await pool.close();
        await launcher.close();
        await sweeper.stop();
        // Empty cgroups of killed sandboxes are removed in the background; wait for them.
        await settleSandboxCleanup();
      })();
      return closed;
    },
  };
}
