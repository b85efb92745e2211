/**
 * `toolcage/engine`: the synchronous-execution telemetry of an engine built on toolcage — wait
 * for a workflow by polling, spans around task, agent and workflow executions, the count of
 * asynchronous starts — with the metric, span and attribute names of Compozy's execution-monitoring design. Loads
 * `@opentelemetry/api` only (no SDK, no Temporal); records to the global providers unless a kit
 * is made with its own (`createEngineKit`).
 */
import type { AgentSpansOptions } from './agent.js';
import { createEngineKit, type EngineKit } from './kit.js';
import type { ExecutionKind } from './engine-names.js';
import type { TaskSpanOptions } from './task.js';
import type { WaitForCompletionOptions } from './wait.js';
import type { ExecuteWorkflowSyncOptions } from './workflow.js';

export { createEngineKit } from './kit.js';
export type { EngineKit, EngineKitOptions } from './kit.js';
export type { WarningHandler } from '../telemetry/guard.js';
export type { BackoffOptions } from './backoff.js';
export type { Poll, PollContext, PollResult, WaitForCompletionOptions } from './wait.js';
export type { ExecuteWorkflowSyncOptions, StartedPollContext } from './workflow.js';
export type { TaskSpanOptions } from './task.js';
export type { AgentSpansOptions } from './agent.js';
export { categorizeError } from './categorize.js';
export type { ErrorCategorizer } from './categorize.js';
export { WorkflowWaitError, WorkflowWaitReason, isWorkflowWaitError } from './wait-error.js';
export {
  EngineMetricAttributes,
  EngineMetricBuckets,
  EngineMetricNames,
  EnginePrometheusMetricNames,
  EngineSpanAttributes,
  EngineSpans,
  EngineTracers,
  EXECUTION_KINDS,
  ExecutionKind,
  POLL_ITERATION_EVENT,
  WaitOutcome,
} from './engine-names.js';

let defaultKit: EngineKit | undefined;
// The kit of the top-level functions: global providers, looked up at every use.
const kit = (): EngineKit => (defaultKit ??= createEngineKit());

/**
 * Polls a workflow until it is done and resolves with its value. `poll(attempt, { signal })`
 * is called at once, then after pauses of capped exponential backoff with jitter (by default
 * ≤ 100 ms, ≤ 150 ms, ≤ 225 ms, … ≤ 1 s) until it answers `{ done: true, state, value }`.
 *
 * Rejects with a {@link WorkflowWaitError} whose `reason` is `timeout` (`timeoutMs` passed),
 * `aborted` (`signal` fired; `cause` is its reason) or `poll_failed` (`poll` threw or answered
 * something else than `{ done: boolean, state: string }`; `cause` is what it threw). A poll in
 * flight when the wait ends sees its `signal` fire; its late answer is ignored.
 *
 * Records, once at the end: `workflow_sync_polls_total{workflow_id, outcome}` += the polls
 * started, with outcome `completed`, `timeout`, or `error` (a failing poll, and an abort: the
 * execution-monitoring design has no fourth outcome and an abandoned wait is not a completion);
 * `workflow_sync_poll_duration_seconds{workflow_id}` (every outcome); and a span
 * `workflow.wait_completion` (tracer `compozy.workflow`) with an event `poll_iteration`
 * `{attempt, state}` per answered poll and the attribute `total_iterations`.
 *
 * `workflowId` is the workflow's **definition** id, never an execution id: it is a metric label
 * and must come from a bounded set (or use a kit with `workflowIdLabel: false`).
 * A wrong option throws a TypeError synchronously.
 */
export function waitForCompletion<T>(options: WaitForCompletionOptions<T>): Promise<T> {
  return kit().waitForCompletion(options);
}

/**
 * Starts a workflow and waits for it within one deadline, inside a span `workflow.execute_sync`
 * (tracer `compozy.workflow`; `workflow_id`, `exec_id`, `timeout_ms`) whose child is the wait's
 * `workflow.wait_completion`. `start({ signal })` returns whatever identifies the execution;
 * `poll(attempt, { signal, started })` reads its state (for Temporal: `handle.describe()`).
 * Rejects with `start`'s own error or a {@link WorkflowWaitError}; the span then records the
 * exception, `error_type` and status ERROR.
 */
export function executeWorkflowSync<S, T>(options: ExecuteWorkflowSyncOptions<S, T>): Promise<T> {
  return kit().executeWorkflowSync(options);
}

/**
 * Runs `run()` inside a span `task.execute_sync` (tracer `compozy.task`; `task_id`, `component`,
 * `timeout_ms`); on a throw the span records the exception, `error_type` (from `categorize`,
 * default {@link categorizeError}) and status ERROR. Returns or throws what `run` does.
 */
export function withTaskSpan<T>(
  options: TaskSpanOptions,
  run: () => T | PromiseLike<T>,
): Promise<T> {
  return kit().withTaskSpan(options, run);
}

/**
 * Runs `prepare()` inside a span `agent.prepare`, then `execute(prepared)` inside a span
 * `agent.execute_sync` (tracer `compozy.agent`; `agent_id`, `action`). Returns or throws what
 * they do; a failed span records the exception, `error_type` and status ERROR.
 */
export function withAgentSpans<P, T>(options: AgentSpansOptions<P, T>): Promise<T> {
  return kit().withAgentSpans(options);
}

/**
 * Counts an asynchronous start that was accepted: `http_exec_started_total{kind}`, `kind` one of
 * `task`, `agent`, `workflow` (anything else is a TypeError).
 */
export function recordAsyncStarted(kind: ExecutionKind): void {
  kit().recordAsyncStarted(kind);
}
