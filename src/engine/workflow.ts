/**
 * `executeWorkflowSync`: start a workflow, then wait for it, inside the
 * `workflow.execute_sync` span of Compozy's execution-monitoring design. Knows nothing of a workflow engine: the caller's `start` and
 * `poll` do (a Temporal flavour passes a `start` that calls `client.workflow.start` and a
 * `poll` that reads the handle's `describe()`).
 */
import { expectPositiveInteger, expectType } from '../errors/expect.js';
import { normalizeBackoff, type BackoffOptions } from './backoff.js';
import type { ErrorCategorizer } from './categorize.js';
import { Deadline, StoppedError } from './wait-deadline.js';
import { EngineSpanAttributes, EngineSpans, EngineTracers } from './engine-names.js';
import { GuardedSpan, runInSpan } from './span.js';
import { runWait, type Poll, type PollContext, type WaitTelemetry } from './wait.js';
import { WorkflowWaitError, WorkflowWaitReason } from './wait-error.js';
import {
  expectNonEmptyString,
  expectOptionalFunction,
  expectSignal,
  expectStringOrFunction,
} from './validate.js';

/** The second argument of `executeWorkflowSync`'s poll: the wait's signal and what `start` returned. */
export interface StartedPollContext<S> extends PollContext {
  readonly started: S;
}

/** Options of {@link executeWorkflowSync}. */
export interface ExecuteWorkflowSyncOptions<S, T> {
  /** The workflow's definition id (bounded; a metric label — see `waitForCompletion`). */
  readonly workflowId: string;
  /**
   * The execution's id, for the span only (`exec_id`): known up front, or read from what
   * `start` returned. @default none
   */
  readonly execId?: string | ((started: S) => string | undefined);
  /** Deadline of the whole call, ms: `start` and the wait share it. */
  readonly timeoutMs: number;
  /**
   * Starts the workflow; its signal fires at the deadline or on the caller's abort. What it
   * returns (a handle, an execution id) is given to every poll. A throw is rethrown as is.
   */
  readonly start: (context: PollContext) => S | PromiseLike<S>;
  /** Reads the started workflow's state (see {@link Poll}). */
  readonly poll: Poll<T, StartedPollContext<S>>;
  /** Cancels the call: a pending start, or the wait (reason `aborted`). */
  readonly signal?: AbortSignal;
  /** Pauses between polls. @default as `waitForCompletion` */
  readonly backoff?: BackoffOptions;
  /** `error_type` of a failure on the span. @default categorizeError */
  readonly categorize?: ErrorCategorizer;
}

/**
 * Runs `start`, then `waitForCompletion` with the rest of `timeoutMs`, inside a span
 * `workflow.execute_sync` (tracer `compozy.workflow`; `workflow_id`, `exec_id`, `timeout_ms`),
 * whose child is the wait's `workflow.wait_completion`. Resolves with the workflow's value.
 * Rejects with `start`'s own error, or a {@link WorkflowWaitError}: `timeout` (also when `start`
 * outlives the deadline: then no poll is made or counted), `aborted`, `poll_failed`. On a
 * failure the span records the exception, `error_type` and status ERROR.
 */
export function runWorkflowSync<S, T>(
  telemetry: WaitTelemetry,
  options: ExecuteWorkflowSyncOptions<S, T>,
): Promise<T> {
  expectType('options', options, 'object');
  expectNonEmptyString('workflowId', options.workflowId);
  expectType('start', options.start, 'function');
  expectPositiveInteger('timeoutMs', options.timeoutMs);
  expectSignal(options.signal);
  const execId = options.execId;
  expectStringOrFunction('execId', execId);
  expectType('poll', options.poll, 'function');
  expectOptionalFunction('categorize', options.categorize);
  const { workflowId, timeoutMs, signal, start, poll } = options;
  const backoff = normalizeBackoff(options.backoff);

  const begin = performance.now();
  const span = new GuardedSpan(telemetry.guard, telemetry.tracerProvider, {
    tracerName: EngineTracers.workflow,
    spanName: EngineSpans.workflowExecuteSync,
    attributes: {
      [EngineSpanAttributes.workflowId]: workflowId,
      [EngineSpanAttributes.timeoutMs]: timeoutMs,
      ...(typeof execId === 'string' ? { [EngineSpanAttributes.execId]: execId } : {}),
    },
  });
  return runInSpan(
    span,
    telemetry.guard,
    async () => {
      const handle = await startWithin(workflowId, timeoutMs, signal, start);
      if (typeof execId === 'function') {
        const id = execId(handle);
        if (id !== undefined) span.setAttributes({ [EngineSpanAttributes.execId]: id });
      }
      const remainingMs = timeoutMs - (performance.now() - begin);
      if (remainingMs <= 0) throw startTimeout(workflowId, timeoutMs, performance.now() - begin);
      return runWait(
        telemetry,
        {
          workflowId,
          timeoutMs: remainingMs,
          callTimeoutMs: timeoutMs,
          signal,
          backoff,
          poll: (attempt, context) => poll(attempt, { ...context, started: handle }),
        },
        span.context,
      );
    },
    options.categorize,
  );
}

// `start()` raced against the deadline and the caller's signal.
async function startWithin<S>(
  workflowId: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (context: PollContext) => S | PromiseLike<S>,
): Promise<S> {
  const begin = performance.now();
  const deadline = new Deadline(timeoutMs, signal);
  try {
    // A signal aborted already: `start` is not called.
    const pending =
      deadline.reason === undefined
        ? new Promise<S>((resolve) => resolve(start({ signal: deadline.signal })))
        : deadline.stopped;
    return await Promise.race([pending, deadline.stopped]);
  } catch (error) {
    if (!(error instanceof StoppedError)) throw error;
    const elapsedMs = performance.now() - begin;
    if (error.reason === 'timeout') throw startTimeout(workflowId, timeoutMs, elapsedMs);
    throw new WorkflowWaitError({
      reason: WorkflowWaitReason.Aborted,
      workflowId,
      attempts: 0,
      elapsedMs: Math.round(elapsedMs),
      message: `Starting workflow \`${workflowId}\` was aborted after ${Math.round(elapsedMs)} ms`,
      cause: signal?.reason,
    });
  } finally {
    deadline.dispose();
  }
}

function startTimeout(workflowId: string, timeoutMs: number, elapsedMs: number): WorkflowWaitError {
  return new WorkflowWaitError({
    reason: WorkflowWaitReason.Timeout,
    workflowId,
    attempts: 0,
    elapsedMs: Math.round(elapsedMs),
    message: `Workflow \`${workflowId}\` did not start within ${timeoutMs} ms (0 polls)`,
  });
}
