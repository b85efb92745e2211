/**
 * A Temporal worker serving toolcage's activities on one task queue (any number of workers may
 * serve the same queue): the activities, the workflow metrics interceptor and its sinks wired in,
 * Temporal's task slots sized to the runtime's concurrency, and a shutdown that drains the tools
 * in flight and closes the runtime.
 */
import { fileURLToPath } from 'node:url';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import type { ToolRuntimeOptions } from '../runtime/runtime-options.js';
import { expectPositiveInteger, expectType } from '../errors/expect.js';
import { createToolRuntime, type ToolRuntime } from '../runtime/runtime.js';
import { createToolActivities, type ToolActivitiesOptions } from './activities.js';
import { loadWorkerSdk } from './sdk.js';
import { createWorkflowMetricsSinks } from './sinks.js';
import { WorkflowMetrics } from './workflow-metrics.js';

/**
 * The workflow interceptors module, for `interceptors.workflowModules` or
 * `bundleWorkflowCode({ workflowInterceptorModules })` when you bundle workflows yourself.
 * (TypeScript from src/ in the tests, JavaScript from dist/ in the package.)
 */
export const workflowInterceptorsPath = fileURLToPath(
  new URL(
    `./workflow-interceptors${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
    import.meta.url,
  ),
);

/** The worker options createToolWorker sets itself. */
type ManagedWorkerOption =
  | 'connection'
  | 'namespace'
  | 'taskQueue'
  | 'activities'
  | 'maxConcurrentActivityTaskExecutions'
  | 'tuner'
  | 'workflowsPath'
  | 'workflowBundle'
  | 'shutdownGraceTime';

/** Options of {@link createToolWorker}. */
export interface ToolWorkerOptions {
  /** The task queue to serve. */
  readonly taskQueue: string;
  /**
   * The runtime running the tools. Give this or `runtimeOptions`.
   * @default a runtime made from `runtimeOptions`
   */
  readonly runtime?: ToolRuntime;
  /**
   * Options of the runtime to create (its registry, sandbox, limits, concurrency). Ad-hoc tools
   * (`toolPath` requests) stay refused unless these set `allowAdHocTools: true`: a workflow
   * could otherwise run any module under the runtime's roots.
   */
  readonly runtimeOptions?: ToolRuntimeOptions;
  /** Close the runtime when the worker stops. @default true */
  readonly closeRuntime?: boolean;
  /** A connection to use (not closed by the worker). @default one to `address`, closed at the end */
  readonly connection?: NativeConnection;
  /** The Temporal frontend, `host:port`. @default 'localhost:7233' */
  readonly address?: string;
  /** @default 'default' */
  readonly namespace?: string;
  /**
   * Workflows this worker also runs (a module path), bundled with the workflow metrics
   * interceptor. Without it (and without `workflowBundle`) the worker runs activities only,
   * for workflows that other workers (in any language) run.
   */
  readonly workflowsPath?: string;
  /** A prebuilt bundle instead of `workflowsPath`; bundle it with {@link workflowInterceptorsPath}. */
  readonly workflowBundle?: { readonly code: string } | { readonly codePath: string };
  /** Options of the `executeTool` activity. */
  readonly activities?: ToolActivitiesOptions;
  /** Metrics of the runtime it creates and of the workflows. @default the global provider */
  readonly meterProvider?: MeterProvider;
  /** Spans of the runtime it creates. @default the global provider */
  readonly tracerProvider?: TracerProvider;
  /** Prefix of the workflow metrics. @default 'compozy_temporal' */
  readonly metricsPrefix?: string;
  /** Receives the one warning of failing workflow metrics. @default process.emitWarning */
  readonly onMetricsWarning?: (message: string) => void;
  /**
   * How long a shutdown lets running tools finish before Temporal cancels them (their process
   * trees are then killed, and the attempts reported failed so the server retries them
   * elsewhere soon), ms. @default 30000
   */
  readonly shutdownGraceTimeMs?: number;
  /** Any other Temporal worker option (identity, buildId, logging, …). */
  readonly workerOptions?: Omit<WorkerOptions, ManagedWorkerOption>;
}

/** A worker built by {@link createToolWorker}. */
export interface ToolWorker {
  /** The Temporal worker. */
  readonly worker: Worker;
  readonly runtime: ToolRuntime;
  readonly metrics: WorkflowMetrics;
  /**
   * Polls the task queue until {@link shutdown} (or one of Temporal's shutdown signals,
   * SIGINT/SIGTERM by default); then the tools in flight drain, the runtime and the connection
   * it opened are closed. Rejects when the worker fails. Call it once.
   */
  run(): Promise<void>;
  /** Stops polling, drains, closes; resolves when all of it is done. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Builds a Temporal worker serving `executeTool` with toolcage's runtime. Its activity slots
 * (`maxConcurrentActivityTaskExecutions`) are the runtime's `concurrency`: Temporal hands a
 * worker no more tasks than it can run at once, so the runtime's queue never rejects work
 * Temporal gave it, and other workers of the queue take the rest.
 */
export async function createToolWorker(options: ToolWorkerOptions): Promise<ToolWorker> {
  expectType('options', options, 'object');
  expectType('taskQueue', options.taskQueue, 'string');
  if (options.taskQueue === '')
    throw new TypeError('Expected `taskQueue` to be a non-empty string, got `` (string)');
  if (options.runtime !== undefined && options.runtimeOptions !== undefined)
    throw new TypeError('Give `runtime` or `runtimeOptions`, not both');
  if (options.connection !== undefined && options.address !== undefined)
    throw new TypeError('Give `connection` or `address`, not both');
  if (options.workflowsPath !== undefined && options.workflowBundle !== undefined)
    throw new TypeError('Give `workflowsPath` or `workflowBundle`, not both');
  for (const name of ['address', 'namespace', 'workflowsPath', 'metricsPrefix'] as const) {
    if (options[name] !== undefined) expectType(name, options[name], 'string');
  }
  if (options.shutdownGraceTimeMs !== undefined)
    expectPositiveInteger('shutdownGraceTimeMs', options.shutdownGraceTimeMs, true);

  const sdk = loadWorkerSdk();
  const metrics = new WorkflowMetrics({
    ...(options.meterProvider === undefined ? {} : { meterProvider: options.meterProvider }),
    ...(options.metricsPrefix === undefined ? {} : { prefix: options.metricsPrefix }),
    ...(options.onMetricsWarning === undefined ? {} : { onWarning: options.onMetricsWarning }),
  });
  const ownsRuntime = options.runtime === undefined;
  const runtime =
    options.runtime ??
    createToolRuntime({
      allowAdHocTools: false,
      ...(options.meterProvider === undefined ? {} : { meterProvider: options.meterProvider }),
      ...(options.tracerProvider === undefined ? {} : { tracerProvider: options.tracerProvider }),
      ...options.runtimeOptions,
    });
  let ownedConnection: NativeConnection | undefined;
  let worker: Worker;
  try {
    const connection =
      options.connection ??
      (ownedConnection = await sdk.NativeConnection.connect({
        address: options.address ?? 'localhost:7233',
      }));
    worker = await sdk.Worker.create(toolWorkerOptions(options, runtime, metrics, connection));
  } catch (error) {
    await ownedConnection?.close().catch(() => {});
    if (ownsRuntime) await runtime.close();
    throw error;
  }
  metrics.workerConfigured();
  return superviseWorker(worker, runtime, metrics, async () => {
    if (options.closeRuntime !== false) await runtime.close();
    await ownedConnection?.close();
  });
}

/**
 * The Temporal `WorkerOptions` of a toolcage worker (exported for tests and for callers who
 * build their `Worker` themselves).
 */
export function toolWorkerOptions(
  options: ToolWorkerOptions,
  runtime: ToolRuntime,
  metrics: WorkflowMetrics,
  connection: NativeConnection | undefined,
): WorkerOptions {
  const extra = options.workerOptions ?? {};
  const runsWorkflows = options.workflowsPath !== undefined || options.workflowBundle !== undefined;
  return {
    ...extra,
    ...(connection === undefined ? {} : { connection }),
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    activities: { ...createToolActivities(runtime, options.activities) },
    maxConcurrentActivityTaskExecutions: runtime.settings.concurrency,
    shutdownGraceTime: options.shutdownGraceTimeMs ?? 30_000,
    ...(options.workflowsPath === undefined ? {} : { workflowsPath: options.workflowsPath }),
    ...(options.workflowBundle === undefined ? {} : { workflowBundle: options.workflowBundle }),
    interceptors: {
      ...extra.interceptors,
      ...(runsWorkflows
        ? {
            workflowModules: [
              ...(extra.interceptors?.workflowModules ?? []),
              workflowInterceptorsPath,
            ],
          }
        : {}),
    },
    sinks: { ...extra.sinks, ...createWorkflowMetricsSinks(metrics) },
  };
}

/**
 * run() and shutdown() around a built worker: the running gauge (+1 while `worker.run()` runs,
 * −1 however it ends), the configured gauge (−1 at shutdown), and `cleanup` exactly once after
 * the worker stopped (or at shutdown when it never ran). Exported for tests.
 */
export function superviseWorker<W extends Pick<Worker, 'run' | 'shutdown' | 'getState'>>(
  worker: W,
  runtime: ToolRuntime,
  metrics: WorkflowMetrics,
  cleanup: () => Promise<void>,
): Omit<ToolWorker, 'worker'> & { readonly worker: W } {
  let running: Promise<void> | undefined;
  let cleaned: Promise<void> | undefined;
  let shutDown: Promise<void> | undefined;
  const clean = (): Promise<void> => (cleaned ??= cleanup());
  return {
    worker,
    runtime,
    metrics,
    run() {
      if (running !== undefined) return Promise.reject(new Error('This worker is already running'));
      if (shutDown !== undefined) return Promise.reject(new Error('This worker was shut down'));
      running = (async () => {
        metrics.workerStarted();
        try {
          await worker.run();
        } finally {
          metrics.workerStopped();
          await clean();
        }
      })();
      return running;
    },
    shutdown() {
      shutDown ??= (async () => {
        try {
          if (running === undefined) return;
          if (worker.getState() === 'RUNNING') worker.shutdown();
          // run()'s own caller sees its failure; here only the end matters.
          await running.catch(() => {});
        } finally {
          await clean();
          metrics.workerUnconfigured();
        }
      })();
      return shutDown;
    },
  };
}
