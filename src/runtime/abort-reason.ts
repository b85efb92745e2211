/** The caller's abort reason on the `cancelled` failure it caused. */
import { ErrorKind } from '../errors/kinds.js';
import type { ToolExecutionError } from '../errors/tool-execution-error.js';

/**
 * A `cancelled` failure the caller's signal caused (its end reason is `cancelled`, not `closed`)
 * keeps the signal's `reason` as its `cause`: `controller.abort(new Error('user left'))` reads
 * back as `error.cause`. Set here, once, whichever step (queue, build, run) made the error.
 */
export function withAbortReason(
  failure: ToolExecutionError,
  ending: AbortSignal,
  callerSignal: AbortSignal | undefined,
): ToolExecutionError {
  if (failure.kind !== ErrorKind.Cancelled || ending.reason !== 'cancelled') return failure;
  if (callerSignal?.aborted !== true || failure.cause !== undefined) return failure;
  Object.defineProperty(failure, 'cause', {
    value: callerSignal.reason,
    writable: true,
    configurable: true,
  });
  return failure;
}
