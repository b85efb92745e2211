/**
 * `toolcage/temporal`: tool executions as Temporal activities, a worker that serves them, and
 * Compozy's workflow metrics interceptor. Needs the optional peer dependencies
 * `@temporalio/activity`, `@temporalio/common` (at import) and `@temporalio/worker` (to build a
 * worker); a missing one is named in the error. Workflow code imports `toolcage/temporal/workflow`.
 */
export { createToolActivities } from './activities.js';
export type { ToolActivities, ToolActivitiesOptions } from './activities.js';
export { createToolWorker, toolWorkerOptions, workflowInterceptorsPath } from './worker.js';
export type { ToolWorker, ToolWorkerOptions } from './worker.js';
export { NON_RETRYABLE_ERROR_TYPES, RETRYABLE_KINDS, isRetryableFailure } from './failure-table.js';
export { EXECUTE_TOOL_ACTIVITY } from './types.js';
export type {
  DeadlineSource,
  ToolActivityLogs,
  ToolActivityRequest,
  ToolActivityResult,
  ToolFailureDetails,
} from './types.js';
export { WorkflowMetrics } from './workflow-metrics.js';
export type { WorkflowMetricsOptions } from './workflow-metrics.js';
export { createWorkflowMetricsSinks } from './sinks.js';
export type { WorkflowMetricsSinks } from './sinks.js';
export {
  DEFAULT_WORKFLOW_METRICS_PREFIX,
  WORKFLOW_DURATION_BUCKETS,
  WORKFLOW_METRICS_SINK,
  WORKFLOW_OUTCOMES,
  WorkflowOutcome,
  workflowMetricNames,
} from './workflow-metric-names.js';
export type { WorkflowMetricNames, WorkflowMetricsSink } from './workflow-metric-names.js';
export { TEMPORAL_SDK_VERSION } from './require-optional.js';
