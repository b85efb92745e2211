/**
 * Names of the workflow metrics (Compozy's workflow metrics interceptor) and of the sink that carries them out of
 * the workflow sandbox. Pure constants: the workflow interceptor (bundled) and the Node side
 * both import this file.
 */

/** Default name prefix: the metric names of Compozy's workflow metrics interceptor. */
export const DEFAULT_WORKFLOW_METRICS_PREFIX = 'compozy_temporal';

/**
 * How a workflow execution ended, as the interceptor sees it. `completed` includes a
 * continue-as-new (the run ended well; the next run counts as a new execution). `timed_out`
 * is a workflow that failed because of a timeout (an activity's or a child's, uncaught); a
 * workflow's own execution or run timeout is enforced by the server, where no worker sees it.
 */
export const WorkflowOutcome = {
  Completed: 'completed',
  Failed: 'failed',
  Canceled: 'canceled',
  TimedOut: 'timed_out',
} as const;

/** One of the values of {@link WorkflowOutcome}. */
export type WorkflowOutcome = (typeof WorkflowOutcome)[keyof typeof WorkflowOutcome];

/** Every outcome. */
export const WORKFLOW_OUTCOMES: readonly WorkflowOutcome[] = Object.values(WorkflowOutcome);

/** The metric names under `prefix` (also the OpenTelemetry instrument names: see below). */
export interface WorkflowMetricNames {
  /** Counter, label `workflow_type`. */
  readonly started: string;
  /** Counters by outcome, label `workflow_type`. */
  readonly ended: Readonly<Record<WorkflowOutcome, string>>;
  /** Histogram, s, label `workflow_type`. */
  readonly durationSeconds: string;
  /** Up-down counter (a Prometheus gauge), no label. */
  readonly workersRunning: string;
  /** Gauge, no label. */
  readonly workersConfigured: string;
}

/**
 * The names, Prometheus-ready: the instrument names are already what Prometheus shows (with
 * `_total` and `_seconds`), because Compozy's names must come out exactly. The Prometheus
 * exporter appends `_total` only to counters whose name lacks it, and translators that append
 * unit suffixes skip a suffix the name already has; the up-down counter and the gauge keep the
 * `_total` of Compozy's names as written.
 */
export function workflowMetricNames(
  prefix: string = DEFAULT_WORKFLOW_METRICS_PREFIX,
): WorkflowMetricNames {
  return {
    started: `${prefix}_workflow_started_total`,
    ended: {
      completed: `${prefix}_workflow_completed_total`,
      failed: `${prefix}_workflow_failed_total`,
      canceled: `${prefix}_workflow_canceled_total`,
      timed_out: `${prefix}_workflow_timed_out_total`,
    },
    durationSeconds: `${prefix}_workflow_duration_seconds`,
    workersRunning: `${prefix}_workers_running_total`,
    workersConfigured: `${prefix}_workers_configured_total`,
  };
}

/** Bucket boundaries of the duration histogram, s (Compozy's workflow metrics interceptor's). */
export const WORKFLOW_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** The one label of the workflow metrics. */
export const WORKFLOW_TYPE_LABEL = 'workflow_type';

/** Name of the sink (the workflow interceptor calls it; the worker injects it). */
export const WORKFLOW_METRICS_SINK = 'toolcageWorkflowMetrics';

/**
 * The sink's functions, as workflow code calls them (the worker adds the workflow's info). A
 * type, not an interface: Temporal's `Sinks` has an index signature, which only a type literal
 * satisfies implicitly.
 */
export type WorkflowMetricsSink = {
  /** The execution started running (its first workflow task). */
  started(): void;
  /** The execution ended. */
  ended(outcome: WorkflowOutcome): void;
};
