/**
 * What each error kind becomes on Temporal: an `ApplicationFailure` whose `type` is the kind,
 * retryable or not. Pure constants, imported by the activity (Node) and by workflow code
 * (`proxyToolActivities`, inside the workflow bundle), so it imports nothing but the kinds.
 */
import { ErrorKind } from '../errors/kinds.js';
import type { LimitName } from '../errors/tool-execution-error.js';

/**
 * Whether Temporal may retry a failure of this kind (`nonRetryable` is the opposite). `false`
 * where the same request would fail the same way again on any worker; `true` where another
 * attempt (or another worker) can succeed. `resource_limit` depends on the limit: see
 * {@link isRetryableFailure}.
 */
export const RETRYABLE_KINDS = {
  /** The request is wrong: the same request is refused again. */
  [ErrorKind.InvalidRequest]: false,
  /** The registry has no such tool, or its module/export is missing: a deployment problem. */
  [ErrorKind.ToolNotFound]: false,
  /** The tool was stopped by the sandbox: it needs a permission it was not granted. */
  [ErrorKind.PermissionDenied]: false,
  /** The result is larger than the limit: the same input gives the same result. */
  [ErrorKind.OutputLimit]: false,
  /** The tool returned no JSON result: a bug of the tool. */
  [ErrorKind.InvalidOutput]: false,
  /** The memory limit was hit: the same input under the same limit runs out again. */
  [ErrorKind.OutOfMemory]: false,
  /** CPU seconds, processes, file size, open files: not retryable; the full queue: retryable. */
  [ErrorKind.ResourceLimit]: false,
  /** The tool threw: often its upstream service failing; the retry policy bounds the attempts. */
  [ErrorKind.ToolError]: true,
  /** The deadline passed: a slow upstream or a busy host; Temporal retries its own timeouts too. */
  [ErrorKind.Timeout]: true,
  /** The process died without a result and no limit explains it (killed from outside, a crash). */
  [ErrorKind.Crashed]: true,
  /** Bun or the sandbox could not start here; another attempt, maybe on another worker, can. */
  [ErrorKind.SpawnFailed]: true,
  /** A fault of toolcage on this worker. */
  [ErrorKind.Internal]: true,
  /**
   * The runtime was closed under the execution (the worker is shutting down): another worker
   * runs it. A Temporal cancellation is not this: it becomes Temporal's `CancelledFailure`.
   */
  [ErrorKind.Cancelled]: true,
} as const satisfies Record<ErrorKind, boolean>;

/**
 * The kinds that are never retried, for a retry policy's `nonRetryableErrorTypes` (what a Go or
 * Java workflow sets; `proxyToolActivities` sets it by default). The failures also carry
 * `nonRetryable`, so the list is belt and braces.
 */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorKind[] = Object.freeze(
  (Object.keys(RETRYABLE_KINDS) as ErrorKind[]).filter(
    (kind) => !RETRYABLE_KINDS[kind] && kind !== ErrorKind.ResourceLimit,
  ),
);

/** Whether a failure of `kind` (with `limit`, for `resource_limit`) may be retried. */
export function isRetryableFailure(kind: ErrorKind, limit?: LimitName): boolean {
  if (kind === ErrorKind.ResourceLimit) return limit === 'queue';
  return RETRYABLE_KINDS[kind];
}
