/**
 * The deadline of a tool run by an activity: it must end (and be classified `timeout` by
 * toolcage) before Temporal's own timeout abandons the attempt with the process still running.
 * Pure functions of the activity's info and the clock.
 */
import type { DeadlineSource } from './types.js';

/** The timing fields of Temporal's activity `Info` this needs (ms; 0 means "no such timeout"). */
export interface ActivityTiming {
  /** Time the attempt may take from its start. */
  readonly startToCloseTimeoutMs: number;
  /** Time all attempts together may take from the first scheduling. */
  readonly scheduleToCloseTimeoutMs: number;
  /** When the activity was first scheduled (epoch ms, the server's clock). */
  readonly scheduledTimestampMs: number;
}

/** A tool's deadline as decided by {@link toolDeadline}. */
export type ToolDeadline =
  | {
      readonly expired: false;
      /** The `timeoutMs` to run the tool with; undefined: the tool's own applies. */
      readonly timeoutMs: number | undefined;
      readonly source: DeadlineSource;
    }
  | { readonly expired: true; readonly leftMs: number };

const usable = (ms: number): boolean => Number.isFinite(ms) && ms > 0;

/**
 * Time the activity has left, ms, or undefined when it has no timeout at all. The attempt's
 * start-to-close runs from `attemptStartedAtMs` (when this worker started the attempt: the
 * server's own start time is not in `Info`; it is a little earlier, which the margin covers);
 * schedule-to-close from the first scheduling.
 */
export function activityTimeLeftMs(
  timing: ActivityTiming,
  attemptStartedAtMs: number,
  nowMs: number,
): number | undefined {
  const ends: number[] = [];
  if (usable(timing.startToCloseTimeoutMs))
    ends.push(attemptStartedAtMs + timing.startToCloseTimeoutMs);
  if (usable(timing.scheduleToCloseTimeoutMs) && usable(timing.scheduledTimestampMs))
    ends.push(timing.scheduledTimestampMs + timing.scheduleToCloseTimeoutMs);
  return ends.length === 0 ? undefined : Math.min(...ends) - nowMs;
}

/**
 * The smaller of the request's `timeoutMs` and the activity's time left less a margin. The
 * margin (time to kill the tool and report its failure to the server) is `marginMs`, but at
 * most a fifth of the time left, so that a short activity still runs its tool. `expired` when
 * less than 1 ms would remain: the tool is not started at all.
 */
export function toolDeadline(
  requestTimeoutMs: number | undefined,
  leftMs: number | undefined,
  marginMs: number,
): ToolDeadline {
  if (leftMs === undefined)
    return { expired: false, timeoutMs: requestTimeoutMs, source: 'request' };
  const budget = Math.floor(leftMs - Math.min(marginMs, leftMs / 5));
  if (budget < 1) return { expired: true, leftMs: Math.round(leftMs) };
  if (requestTimeoutMs !== undefined && requestTimeoutMs <= budget)
    return { expired: false, timeoutMs: requestTimeoutMs, source: 'request' };
  return { expired: false, timeoutMs: budget, source: 'activity' };
}
