/**
 * The one error a wait for a workflow rejects with, told apart by `reason`.
 */

const BRAND = Symbol.for('toolcage.WorkflowWaitError');

/** Why a wait ended without the workflow's value. */
export const WorkflowWaitReason = {
  /** `timeoutMs` passed before a poll answered `done`. */
  Timeout: 'timeout',
  /** The caller's `signal` fired; `cause` is the signal's reason. */
  Aborted: 'aborted',
  /** `poll` threw or rejected, or answered something that is not a poll result; `cause` says which. */
  PollFailed: 'poll_failed',
} as const;

/** One of the values of {@link WorkflowWaitReason}. */
export type WorkflowWaitReason = (typeof WorkflowWaitReason)[keyof typeof WorkflowWaitReason];

/** What a {@link WorkflowWaitError} is made of. */
export interface WorkflowWaitErrorOptions {
  readonly reason: WorkflowWaitReason;
  readonly workflowId: string;
  readonly message: string;
  /** Polls started. */
  readonly attempts: number;
  readonly elapsedMs: number;
  /** The `state` of the last answered poll. */
  readonly lastState?: string | undefined;
  readonly cause?: unknown;
}

/**
 * Rejection of `waitForCompletion` and `executeWorkflowSync`: the reason, the workflow, how many
 * polls were made and how long it took. The workflow itself is not touched (a timed-out wait
 * leaves it running; cancelling it is the caller's decision).
 */
export class WorkflowWaitError extends Error {
  override readonly name = 'WorkflowWaitError';
  readonly reason: WorkflowWaitReason;
  readonly workflowId: string;
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly lastState: string | undefined;

  constructor(options: WorkflowWaitErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason;
    this.workflowId = options.workflowId;
    this.attempts = options.attempts;
    this.elapsedMs = options.elapsedMs;
    this.lastState = options.lastState;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for a {@link WorkflowWaitError} from any copy of this package. */
export function isWorkflowWaitError(value: unknown): value is WorkflowWaitError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}
