/**
 * The engine kit: the synchronous-execution telemetry of Compozy's execution-monitoring design, bound to one
 * pair of providers.
 * `createEngineKit()` makes one; the functions exported at top level use a default kit that
 * records to the global providers, looked up at every use.
 */
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { expectOneOf, expectType } from '../errors/expect.js';
import { runAgentSpans, type AgentSpansOptions } from './agent.js';
import { TelemetryGuard, type WarningHandler } from '../telemetry/guard.js';
import { EngineMetrics } from './engine-metrics.js';
import { EXECUTION_KINDS, type ExecutionKind } from './engine-names.js';
import { runTaskSpan, type TaskSpanOptions } from './task.js';
import { normalizeWait, runWait, type WaitForCompletionOptions } from './wait.js';
import { runWorkflowSync, type ExecuteWorkflowSyncOptions } from './workflow.js';

/** Options of {@link createEngineKit}. All optional. */
export interface EngineKitOptions {
  /** @default the global meter provider, looked up at every record (one registered later works) */
  readonly meterProvider?: MeterProvider;
  /** @default the global tracer provider */
  readonly tracerProvider?: TracerProvider;
  /**
   * Whether the workflow metrics carry the `workflow_id` label. Turn it off when workflow ids
   * are not a small fixed set (Compozy's own implementation dropped the label for that reason).
   * @default true
   */
  readonly workflowIdLabel?: boolean;
  /**
   * Receives the one warning of a kit whose meter or tracer threw (the observed call is never
   * affected). @default `process.emitWarning(message, 'TelemetryWarning')`
   */
  readonly onWarning?: WarningHandler;
}

/** The kit's functions; each is bound (it can be passed around on its own). */
export interface EngineKit {
  /** See the top-level {@link waitForCompletion}. */
  waitForCompletion<T>(options: WaitForCompletionOptions<T>): Promise<T>;
  /** See the top-level {@link executeWorkflowSync}. */
  executeWorkflowSync<S, T>(options: ExecuteWorkflowSyncOptions<S, T>): Promise<T>;
  /** See the top-level {@link withTaskSpan}. */
  withTaskSpan<T>(options: TaskSpanOptions, run: () => T | PromiseLike<T>): Promise<T>;
  /** See the top-level {@link withAgentSpans}. */
  withAgentSpans<P, T>(options: AgentSpansOptions<P, T>): Promise<T>;
  /** See the top-level {@link recordAsyncStarted}. */
  recordAsyncStarted(kind: ExecutionKind): void;
}

/** Makes an engine kit recording to the given providers (TypeError on a wrong option). */
export function createEngineKit(options: EngineKitOptions = {}): EngineKit {
  expectType('options', options, 'object');
  if (options.workflowIdLabel !== undefined) {
    expectType('workflowIdLabel', options.workflowIdLabel, 'boolean');
  }
  if (options.onWarning !== undefined) expectType('onWarning', options.onWarning, 'function');
  for (const name of ['meterProvider', 'tracerProvider'] as const) {
    if (options[name] !== undefined) expectType(name, options[name], 'object');
  }
  const guard = new TelemetryGuard(
    (what, error) =>
      `toolcage engine telemetry failed (${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}); the observed call went on unaffected. ` +
      'Later telemetry failures of this kit are not reported.',
    options.onWarning,
  );
  const metrics = new EngineMetrics({
    meterProvider: options.meterProvider,
    workflowIdLabel: options.workflowIdLabel ?? true,
    guard,
  });
  const telemetry = { guard, metrics, tracerProvider: options.tracerProvider };
  return {
    waitForCompletion: (wait) => {
      const normalized = normalizeWait(wait);
      return runWait(telemetry, normalized);
    },
    executeWorkflowSync: (workflow) => runWorkflowSync(telemetry, workflow),
    withTaskSpan: (task, run) => runTaskSpan(telemetry, task, run),
    withAgentSpans: (agent) => runAgentSpans(telemetry, agent),
    recordAsyncStarted: (kind) => {
      expectOneOf('kind', kind, EXECUTION_KINDS);
      metrics.recordAsyncStarted(kind);
    },
  };
}
