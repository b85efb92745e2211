import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
import { GRACE_ARG, ProcessPool } from './pool.js';
import { SlotQueue } from './queue.js';
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

// The worker and the launcher run as TypeScript from src/ (tests) and as JavaScript from dist/
// (the package).
function bunEntry(name: 'worker' | 'launcher'): string {
  const url = new URL(
    `./${name}/main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
    import.meta.url,
  );
  return fileURLToPath(url);
}

function bunfigPath(): string {
  // src/runtime/runtime.ts and dist/runtime/runtime.js are both two levels below the package root.
  return fileURLToPath(new URL('../../bunfig.toml', import.meta.url));
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
  const worker = bunEntry('worker');
  const bunfig = bunfigPath();
  if (!existsSync(worker) || !existsSync(bunfig)) {
    throw new Error(`toolcage is incomplete: missing ${existsSync(worker) ? bunfig : worker}`);
  }
  const sweeper = startSweeping(() => sandbox.sweep());
  const launcher = new Launcher(bunPath, bunEntry('launcher'));
  const runtimeFiles = [worker, bunfig, fileURLToPath(new URL('./worker/', import.meta.url))];
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
  const environment: ExecutionEnvironment = {
    options: normalized,
    tools,
    sandbox,
    queue,
    pool,
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

  // Registered tools are warmed ahead of their first request, with their own profile.
  if (normalized.prewarm > 0) {
    for (const id of normalized.tools.keys()) {
      try {
        const tool = tools.resolve({ toolId: id });
        pool.warm({
          toolPath: tool.path,
          ...effectiveProfile(normalized, tool, {}),
          preload: tool.definition?.preload === true,
        });
      } catch {
        // A tool that cannot be resolved now fails clearly when it is called.
      }
    }
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
