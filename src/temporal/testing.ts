/**
 * `toolcage/temporal/testing`: what a test of the `executeTool` activity needs around the Temporal
 * SDK's `MockActivityEnvironment` (`@temporalio/testing`). Loads nothing: its only import is a
 * type.
 */
import type { Info } from '@temporalio/activity';

/** The activity's time to run from its start in {@link activityTestInfo}: 60 s. */
export const TEST_START_TO_CLOSE_MS = 60_000;

/**
 * A realistic activity `Info` for `new MockActivityEnvironment(activityTestInfo())`: the
 * activity `executeTool`, scheduled now (this attempt too), 60 s start-to-close and no
 * schedule-to-close timeout; `overrides` replace any field.
 *
 * Why it is needed: the SDK's default info dates the schedule to 1970 with a 1 s
 * schedule-to-close timeout, so the activity has no time left and every `executeTool` fails
 * `timeout` (`… its activity has 0 ms left`) without starting its tool. Call it once per
 * environment: the schedule is the moment of the call.
 */
export function activityTestInfo(overrides: Partial<Info> = {}): Partial<Info> {
  const now = Date.now();
  return {
    activityType: 'executeTool',
    scheduledTimestampMs: now,
    currentAttemptScheduledTimestampMs: now,
    startToCloseTimeoutMs: TEST_START_TO_CLOSE_MS,
    scheduleToCloseTimeoutMs: 0,
    ...overrides,
  };
}
