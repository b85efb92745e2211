/**
 * Compozy's workflow metrics interceptor, workflow side. Runs inside the workflow sandbox
 * (bundled by the worker's webpack: only `@temporalio/workflow` and pure constants here). It
 * reports an execution's start and end through a sink; the worker records them (sinks.ts) only
 * for live executions, never on replay, so a worker that restarts and replays a history counts
 * nothing twice. A metrics failure never reaches the workflow.
 *
 * Install: `interceptors.workflowModules: [workflowInterceptorsPath]` (createToolWorker does it),
 * plus the sinks of `createWorkflowMetricsSinks()`.
 */
import {
  ContinueAsNew,
  isCancellation,
  log,
  proxySinks,
  TimeoutFailure,
  type Next,
  type Sinks,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import {
  WORKFLOW_METRICS_SINK,
  WorkflowOutcome,
  type WorkflowMetricsSink,
} from './workflow-metric-names.js';

type MetricsSinks = Sinks & { [WORKFLOW_METRICS_SINK]: WorkflowMetricsSink };

/**
 * How an execution that threw ended: continue-as-new is a completed run, a cancellation
 * (the workflow's own, or an activity's or child's that it let through) `canceled`, a failure
 * caused by a timeout anywhere in its cause chain `timed_out`, anything else `failed`.
 */
export function workflowOutcome(error: unknown): WorkflowOutcome {
  if (error instanceof ContinueAsNew) return WorkflowOutcome.Completed;
  if (isCancellation(error)) return WorkflowOutcome.Canceled;
  let cause: unknown = error;
  for (let depth = 0; depth < 32 && cause instanceof Error; depth++) {
    if (cause instanceof TimeoutFailure) return WorkflowOutcome.TimedOut;
    cause = cause.cause;
  }
  return WorkflowOutcome.Failed;
}

let warned = false;

// Calls a sink; a failure (a sink the worker did not register, a broken proxy) is logged once
// per workflow context and never thrown into the workflow.
function report(call: () => void): void {
  try {
    call();
  } catch (error) {
    if (warned) return;
    warned = true;
    try {
      log.warn('toolcage workflow metrics: a sink call failed; the workflow is unaffected', {
        error: error instanceof Error ? error.message : String(error),
      });
    } catch {
      // Not even the logger: nothing more to do.
    }
  }
}

/** Reports the start and the end (with its outcome) of each workflow execution. */
export class WorkflowMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  readonly #sink: WorkflowMetricsSink;

  constructor(sink: WorkflowMetricsSink) {
    this.#sink = sink;
  }

  async execute(
    input: WorkflowExecuteInput,
    next: Next<WorkflowInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    report(() => this.#sink.started());
    let outcome: WorkflowOutcome = WorkflowOutcome.Failed;
    try {
      const result: unknown = await next(input);
      outcome = WorkflowOutcome.Completed;
      return result;
    } catch (error) {
      outcome = workflowOutcome(error);
      throw error;
    } finally {
      report(() => this.#sink.ended(outcome));
    }
  }
}

/** The interceptors factory the worker loads from this module (`interceptors.workflowModules`). */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new WorkflowMetricsInterceptor(proxySinks<MetricsSinks>()[WORKFLOW_METRICS_SINK])],
});
