/**
 * Every name the engine kit publishes: instruments, buckets, label values, tracers, spans,
 * events, attributes. They are the names of Compozy's execution-monitoring design, which
 * dashboards and alert rules (observability/engine-*) match on. Pure constants.
 */

/**
 * OpenTelemetry instrument names. As with the runtime's metrics (src/telemetry/names.ts), the
 * unit word is part of the name because toolcage's Prometheus exporter does not append units;
 * `.` becomes `_` and counters get `_total`.
 */
export const EngineMetricNames = {
  /** Counter → `workflow_sync_polls_total`. */
  workflowSyncPolls: 'workflow.sync.polls',
  /** Histogram, unit `s` → `workflow_sync_poll_duration_seconds`. */
  workflowSyncPollDuration: 'workflow.sync.poll.duration.seconds',
  /** Counter → `http_exec_started_total`. */
  httpExecStarted: 'http.exec.started',
} as const;

/** The names once scraped by Prometheus (what observability/engine-* queries). */
export const EnginePrometheusMetricNames = {
  workflowSyncPolls: 'workflow_sync_polls_total',
  workflowSyncPollDuration: 'workflow_sync_poll_duration_seconds',
  httpExecStarted: 'http_exec_started_total',
} as const;

/** Explicit bucket boundaries of `workflow_sync_poll_duration_seconds`, in seconds. */
export const EngineMetricBuckets = {
  workflowSyncPollDuration: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
} as const;

/** Metric attribute (Prometheus label) names. */
export const EngineMetricAttributes = {
  workflowId: 'workflow_id',
  outcome: 'outcome',
  kind: 'kind',
} as const;

/** How a wait ended, as the `outcome` label of `workflow_sync_polls_total`. */
export const WaitOutcome = {
  Completed: 'completed',
  Timeout: 'timeout',
  /** A poll that threw or answered nonsense, and a wait cancelled by the caller's signal. */
  Error: 'error',
} as const;

/** One of the values of {@link WaitOutcome}. */
export type WaitOutcome = (typeof WaitOutcome)[keyof typeof WaitOutcome];

/** What an asynchronous start started, as the `kind` label of `http_exec_started_total`. */
export const ExecutionKind = {
  Task: 'task',
  Agent: 'agent',
  Workflow: 'workflow',
} as const;

/** One of the values of {@link ExecutionKind}. */
export type ExecutionKind = (typeof ExecutionKind)[keyof typeof ExecutionKind];

/** Every kind, in declaration order. */
export const EXECUTION_KINDS: readonly ExecutionKind[] = Object.values(ExecutionKind);

/** Tracer names (instrumentation scopes) of Compozy's execution-monitoring design. */
export const EngineTracers = {
  workflow: 'compozy.workflow',
  task: 'compozy.task',
  agent: 'compozy.agent',
} as const;

/** Span names of Compozy's execution-monitoring design. */
export const EngineSpans = {
  workflowExecuteSync: 'workflow.execute_sync',
  workflowWaitCompletion: 'workflow.wait_completion',
  taskExecuteSync: 'task.execute_sync',
  agentPrepare: 'agent.prepare',
  agentExecuteSync: 'agent.execute_sync',
} as const;

/** Name of the event added to `workflow.wait_completion` once per poll. */
export const POLL_ITERATION_EVENT = 'poll_iteration';

/** Span and event attribute names. */
export const EngineSpanAttributes = {
  workflowId: 'workflow_id',
  execId: 'exec_id',
  timeoutMs: 'timeout_ms',
  attempt: 'attempt',
  state: 'state',
  totalIterations: 'total_iterations',
  outcome: 'outcome',
  taskId: 'task_id',
  component: 'component',
  agentId: 'agent_id',
  action: 'action',
  errorType: 'error_type',
} as const;
