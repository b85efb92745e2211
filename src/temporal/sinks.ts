/**
 * The worker-side half of the workflow metrics interceptor: the sink its calls arrive at.
 * Registered with `callDuringReplay: false`, so a replayed workflow task (a worker restart, a
 * cache eviction, a replay test) records nothing; durations are measured from the run's own
 * start time, so an execution that outlived a worker is still measured whole.
 */
import type { InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { WorkflowMetrics } from './workflow-metrics.js';
import {
  WORKFLOW_METRICS_SINK,
  WORKFLOW_OUTCOMES,
  type WorkflowMetricsSink,
  type WorkflowOutcome,
} from './workflow-metric-names.js';

/** The sinks of the workflow metrics interceptor, for `WorkerOptions.sinks`. */
export type WorkflowMetricsSinks = InjectedSinks<{
  [WORKFLOW_METRICS_SINK]: WorkflowMetricsSink;
}>;

/**
 * Sinks recording into `metrics`. `now` is the clock durations are read from (epoch ms).
 * Each function also checks `isReplaying` itself, so that they record nothing for a replayed
 * call even where a worker would deliver it.
 */
export function createWorkflowMetricsSinks(
  metrics: WorkflowMetrics,
  now: () => number = Date.now,
): WorkflowMetricsSinks {
  const live = (info: WorkflowInfo): boolean => !info.unsafe.isReplaying;
  return {
    [WORKFLOW_METRICS_SINK]: {
      started: {
        fn: (info: WorkflowInfo) => {
          if (live(info)) metrics.workflowStarted(info.workflowType);
        },
        callDuringReplay: false,
      },
      ended: {
        fn: (info: WorkflowInfo, outcome: WorkflowOutcome) => {
          if (!live(info)) return;
          // Anything else would be a label value the workflow made up.
          const known = WORKFLOW_OUTCOMES.includes(outcome) ? outcome : 'failed';
          const startedAt = info.runStartTime.getTime();
          metrics.workflowEnded(info.workflowType, known, (now() - startedAt) / 1000);
        },
        callDuringReplay: false,
      },
    },
  };
}
