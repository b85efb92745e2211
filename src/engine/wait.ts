/**
 * `waitForCompletion`: polls a workflow until it is done, under a deadline and the caller's
 * AbortSignal, with capped exponential backoff, measured with the metrics and the
 * `workflow.wait_completion` span of Compozy's execution-monitoring design.
 */
import type { Context } from '@opentelemetry/api';
import { expectPositiveInteger, expectType } from '../errors/expect.js';
import { describeValue } from '../errors/describe-value.js';
import { expectNonEmptyString, expectSignal } from './validate.js';
import { backoffDelay, normalizeBackoff, type Backoff, type BackoffOptions } from './backoff.js';
import type { EngineMetrics } from './engine-metrics.js';
import {
  EngineSpanAttributes,
  EngineSpans,
  EngineTracers,
  POLL_ITERATION_EVENT,
  WaitOutcome,
} from './engine-names.js';
import { Deadline, StoppedError, type StopReason } from './wait-deadline.js';
import { callIn, GuardedSpan, type SpanTelemetry } from './span.js';
import { WorkflowWaitError, WorkflowWaitReason } from './wait-error.js';

/** What a poll answers: not done yet, or done with the workflow's value. */
export type PollResult<T> =
  | { readonly done: false; readonly state: string }
  | { readonly done: true; readonly state: string; readonly value: T };

/** The second argument of a poll. */
export interface PollContext {
  /** Aborted when the wait ends (timeout, the caller's abort): cancel a request in flight with it. */
  readonly signal: AbortSignal;
}

/**
 * Reads the workflow's state once. `attempt` counts from 1. `state` is what the span event
 * shows (`RUNNING`, `COMPLETED`, …: a short word, not a payload). Throwing ends the wait
 * (`poll_failed`); a poll that should ride out a transient error catches it and answers
 * `{ done: false, state: 'UNREACHABLE' }` or the like.
 */
export type Poll<T, C extends PollContext = PollContext> = (
  attempt: number,
  context: C,
) => PollResult<T> | PromiseLike<PollResult<T>>;

/** Options of {@link waitForCompletion}. */
export interface WaitForCompletionOptions<T> {
  /**
   * The workflow's **definition** id (`order-fulfilment`): a label of the metrics, so it must
   * come from a bounded set. Never an execution id — one series per execution would swamp the
   * metrics backend (or create the kit with `workflowIdLabel: false`).
   */
  readonly workflowId: string;
  readonly poll: Poll<T>;
  /** How long to wait in all, ms. The first poll is made at once. @default 60000 */
  readonly timeoutMs?: number;
  /** Ends the wait early (reason `aborted`; counted with outcome `error`). */
  readonly signal?: AbortSignal;
  /** Pauses between polls. @default first re-poll within 100 ms, growing by half to at most 1 s, 20 % jitter */
  readonly backoff?: BackoffOptions;
}

/** What a wait needs from its kit. */
export interface WaitTelemetry extends SpanTelemetry {
  readonly metrics: EngineMetrics;
}

/** A validated wait. */
export interface NormalizedWait<T> {
  readonly workflowId: string;
  readonly poll: Poll<T>;
  /** May be fractional (the rest of an `executeWorkflowSync` deadline). */
  readonly timeoutMs: number;
  /** The timeout the caller gave, for the timeout message. @default timeoutMs */
  readonly callTimeoutMs?: number;
  readonly signal: AbortSignal | undefined;
  readonly backoff: Backoff;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Fills defaults; a TypeError names the first wrong option. */
export function normalizeWait<T>(options: WaitForCompletionOptions<T>): NormalizedWait<T> {
  expectType('options', options, 'object');
  expectNonEmptyString('workflowId', options.workflowId);
  expectType('poll', options.poll, 'function');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  expectPositiveInteger('timeoutMs', timeoutMs);
  expectSignal(options.signal);
  return {
    workflowId: options.workflowId,
    poll: options.poll,
    timeoutMs,
    signal: options.signal,
    backoff: normalizeBackoff(options.backoff),
  };
}

/**
 * Runs a validated wait: polls until `done`, the deadline, the caller's abort or a failing poll.
 * Records, whatever the end: `workflow_sync_polls_total` += polls started, the wait's duration,
 * and the `workflow.wait_completion` span (a `poll_iteration` event per answered poll,
 * `total_iterations` at the end). Rejects only with a {@link WorkflowWaitError}.
 */
export async function runWait<T>(
  telemetry: WaitTelemetry,
  wait: NormalizedWait<T>,
  parent?: Context,
): Promise<T> {
  const startedAt = performance.now();
  const span = startWaitSpan(telemetry, wait, parent);
  const deadline = new Deadline(wait.timeoutMs, wait.signal);
  const progress: WaitProgress = { attempts: 0, lastState: undefined };
  let outcome: WaitOutcome = WaitOutcome.Error;
  try {
    const answer = await pollUntilDone(telemetry, wait, span, deadline, progress);
    outcome = WaitOutcome.Completed;
    return answer.value;
  } catch (thrown) {
    const error = waitError(wait, thrown, deadline.reason, {
      attempts: progress.attempts,
      elapsedMs: performance.now() - startedAt,
      lastState: progress.lastState,
    });
    if (error.reason === WorkflowWaitReason.Timeout) outcome = WaitOutcome.Timeout;
    span.fail(error, undefined);
    throw error;
  } finally {
    deadline.dispose(); // a poll still in flight sees its signal fire
    endWait(telemetry, span, wait, { outcome, attempts: progress.attempts, startedAt });
  }
}

// How far a wait got: the polls started, and the state of the last answer.
interface WaitProgress {
  attempts: number;
  lastState: string | undefined;
}

// The `workflow.wait_completion` span of `wait`, started.
function startWaitSpan(
  telemetry: WaitTelemetry,
  wait: NormalizedWait<unknown>,
  parent: Context | undefined,
): GuardedSpan {
  return new GuardedSpan(telemetry.guard, telemetry.tracerProvider, {
    tracerName: EngineTracers.workflow,
    spanName: EngineSpans.workflowWaitCompletion,
    attributes: {
      [EngineSpanAttributes.workflowId]: wait.workflowId,
      [EngineSpanAttributes.timeoutMs]: Math.round(wait.timeoutMs),
    },
    ...(parent === undefined ? {} : { parent }),
  });
}

// Polls, pausing between polls, until an answer is done; throws when the deadline stops the wait
// or a poll fails. Counts into `progress` as it goes.
async function pollUntilDone<T>(
  telemetry: WaitTelemetry,
  wait: NormalizedWait<T>,
  span: GuardedSpan,
  deadline: Deadline,
  progress: WaitProgress,
): Promise<Extract<PollResult<T>, { done: true }>> {
  const pollContext: PollContext = { signal: deadline.signal };
  for (;;) {
    if (deadline.reason !== undefined) throw new StoppedError(deadline.reason);
    const attempt = ++progress.attempts;
    const pending = new Promise<unknown>((resolve) =>
      resolve(callIn(span.context, telemetry.guard, () => wait.poll(attempt, pollContext))),
    );
    const answer = checkAnswer<T>(await Promise.race([pending, deadline.stopped]));
    progress.lastState = answer.state;
    span.addEvent(POLL_ITERATION_EVENT, {
      [EngineSpanAttributes.attempt]: attempt,
      [EngineSpanAttributes.state]: answer.state,
    });
    if (answer.done) return answer;
    // Returns at once when the deadline stops; the loop head then throws its reason.
    await deadline.sleep(backoffDelay(attempt, wait.backoff));
  }
}

// Ends the wait's span with its totals and records the wait in the metrics.
function endWait(
  telemetry: WaitTelemetry,
  span: GuardedSpan,
  wait: NormalizedWait<unknown>,
  end: { readonly outcome: WaitOutcome; readonly attempts: number; readonly startedAt: number },
): void {
  span.setAttributes({
    [EngineSpanAttributes.totalIterations]: end.attempts,
    [EngineSpanAttributes.outcome]: end.outcome,
  });
  span.end();
  telemetry.metrics.recordWait({
    workflowId: wait.workflowId,
    outcome: end.outcome,
    attempts: end.attempts,
    durationMs: performance.now() - end.startedAt,
  });
}

// A poll's answer, or a TypeError saying why it is none.
function checkAnswer<T>(answer: unknown): PollResult<T> {
  const candidate = answer as { done?: unknown; state?: unknown } | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.done !== 'boolean' ||
    typeof candidate.state !== 'string'
  ) {
    throw new TypeError(
      `Expected \`poll()\` to return { done: boolean, state: string, value? }, got ${describeValue(answer)}`,
    );
  }
  return answer as PollResult<T>;
}

// The WorkflowWaitError for whatever ended the wait.
function waitError(
  wait: NormalizedWait<unknown>,
  thrown: unknown,
  stopped: StopReason | undefined,
  facts: { attempts: number; elapsedMs: number; lastState: string | undefined },
): WorkflowWaitError {
  const { workflowId } = wait;
  const elapsedMs = Math.round(facts.elapsedMs);
  const progress = `${facts.attempts} ${facts.attempts === 1 ? 'poll' : 'polls'}${
    facts.lastState === undefined ? '' : `, last state \`${facts.lastState}\``
  }`;
  const common = { workflowId, attempts: facts.attempts, elapsedMs, lastState: facts.lastState };
  // Whatever ended the wait first wins: a poll that fails because its signal fired is not the cause.
  if (stopped === 'timeout') {
    return new WorkflowWaitError({
      ...common,
      reason: WorkflowWaitReason.Timeout,
      message: `Workflow \`${workflowId}\` did not complete within ${Math.round(wait.callTimeoutMs ?? wait.timeoutMs)} ms (${progress})`,
    });
  }
  if (stopped === 'aborted') {
    return new WorkflowWaitError({
      ...common,
      reason: WorkflowWaitReason.Aborted,
      message: `Waiting for workflow \`${workflowId}\` was aborted after ${elapsedMs} ms (${progress})`,
      cause: wait.signal?.reason,
    });
  }
  const detail = thrown instanceof Error ? thrown.message : describeValue(thrown);
  return new WorkflowWaitError({
    ...common,
    reason: WorkflowWaitReason.PollFailed,
    message: `Polling workflow \`${workflowId}\` failed on attempt ${facts.attempts}: ${detail}`,
    cause: thrown,
  });
}
