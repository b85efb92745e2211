/**
 * Workflow side of toolcage on Temporal (`toolcage/temporal/workflow`): runs inside the workflow
 * sandbox and is bundled by the worker's webpack, so it imports only `@temporalio/workflow` and
 * pure constants — never a Node module.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from './failure-table.js';
import type { ToolActivityRequest, ToolActivityResult } from './types.js';

/** The activities a workflow calls, as `proxyToolActivities` types them. */
export interface ToolActivitiesProxy {
  /** Runs one tool on a toolcage worker; fails with an `ActivityFailure` whose cause is the `ApplicationFailure` of the kind. */
  readonly executeTool: <T = unknown>(
    request: ToolActivityRequest,
  ) => Promise<ToolActivityResult<T>>;
}

/**
 * Defaults of {@link proxyToolActivities}:
 * - `startToCloseTimeout` 10 minutes: longer than a tool's default deadline (60 s), and the
 *   activity ends its tool (`timeout`) before the attempt's timeout in any case;
 * - `heartbeatTimeout` 10 s: a worker that died is noticed within 10 s and the attempt is
 *   retried on another; a cancellation reaches the worker with its next heartbeat (the SDK sends
 *   one at most every 0.8 × this), so a cancelled tool is killed within ≈ 8 s;
 * - retries: 3 attempts, 1 s then ×2 up to 30 s, never for the kinds that cannot succeed again.
 * - `cancellationType` WAIT_CANCELLATION_COMPLETED (the SDK's default, spelled out): a cancelled
 *   workflow goes on only once the worker confirmed that the tool's processes are gone.
 */
export const TOOL_ACTIVITY_DEFAULTS = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
} as const satisfies ActivityOptions;

/**
 * The toolcage activities for workflow code, with {@link TOOL_ACTIVITY_DEFAULTS} under
 * `options` (a given `retry` is merged field by field, and its `nonRetryableErrorTypes` added to
 * toolcage's). Pass `taskQueue` when the toolcage workers serve another queue than the workflow's.
 */
export function proxyToolActivities(options: ActivityOptions = {}): ToolActivitiesProxy {
  const retry = {
    ...TOOL_ACTIVITY_DEFAULTS.retry,
    ...options.retry,
    nonRetryableErrorTypes: [
      ...new Set([
        ...TOOL_ACTIVITY_DEFAULTS.retry.nonRetryableErrorTypes,
        ...(options.retry?.nonRetryableErrorTypes ?? []),
      ]),
    ],
  };
  // A caller who sets only scheduleToCloseTimeout gets no start-to-close default of ours (it
  // would be longer than the total the caller allowed).
  const startToClose =
    options.startToCloseTimeout === undefined && options.scheduleToCloseTimeout !== undefined
      ? {}
      : { startToCloseTimeout: TOOL_ACTIVITY_DEFAULTS.startToCloseTimeout };
  return proxyActivities<ToolActivitiesProxy>({
    heartbeatTimeout: TOOL_ACTIVITY_DEFAULTS.heartbeatTimeout,
    cancellationType: TOOL_ACTIVITY_DEFAULTS.cancellationType,
    ...startToClose,
    ...options,
    retry,
  });
}

export { NON_RETRYABLE_ERROR_TYPES, RETRYABLE_KINDS, isRetryableFailure } from './failure-table.js';
export { EXECUTE_TOOL_ACTIVITY } from './types.js';
export type { ToolActivityRequest, ToolActivityResult, ToolFailureDetails } from './types.js';
