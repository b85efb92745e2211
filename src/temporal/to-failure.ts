/**
 * A failed execution as Temporal sees it: an `ApplicationFailure` whose `type` is the error kind,
 * `nonRetryable` per the failure table, and one `details` entry with what a workflow needs to
 * decide (the tool's thrown error, the limit hit, the exit, the log tails).
 */
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorKind } from '../errors/kinds.js';
import { isToolExecutionError } from '../errors/tool-execution-error.js';
import { isRetryableFailure } from './failure-table.js';
import { commonSdk } from './sdk.js';
import { trimLogs } from './trim-logs.js';
import type { DeadlineSource, ToolFailureDetails } from './types.js';

/** What the activity knows about a failure besides the error itself. */
export interface FailureContext {
  /** Each stream's log tail, bytes. */
  readonly maxLogBytes: number;
  /** The tool id to name when the error has none (an error before the request was read). */
  readonly toolId: string;
  readonly timeoutMs?: number | undefined;
  readonly deadlineSource?: DeadlineSource | undefined;
}

/**
 * The `ApplicationFailure` of an error: a {@link ToolExecutionError} by its kind; anything else
 * (a fault of toolcage or of the SDK) as `internal`, retryable, with its message.
 */
export function toApplicationFailure(error: unknown, context: FailureContext): ApplicationFailure {
  const { ApplicationFailure } = commonSdk;
  if (!isToolExecutionError(error)) {
    const message = error instanceof Error ? error.message : String(error);
    const details: ToolFailureDetails = {
      kind: ErrorKind.Internal,
      toolId: context.toolId,
      message: `toolcage: internal error: ${message}`,
      durationMs: 0,
      logs: { stdout: '', stderr: '', truncated: false },
    };
    return ApplicationFailure.create({
      message: details.message,
      type: ErrorKind.Internal,
      nonRetryable: false,
      details: [details],
      ...(error instanceof Error ? { cause: error } : {}),
    });
  }
  const details: ToolFailureDetails = {
    kind: error.kind,
    toolId: error.toolId,
    message: error.message,
    ...(error.limit === undefined ? {} : { limit: error.limit }),
    ...(error.toolError === undefined ? {} : { toolError: error.toolError }),
    ...(error.exitCode === undefined ? {} : { exitCode: error.exitCode }),
    ...(error.signal === undefined ? {} : { signal: error.signal }),
    durationMs: error.durationMs,
    ...(error.executionId === undefined ? {} : { executionId: error.executionId }),
    ...(context.timeoutMs === undefined ? {} : { timeoutMs: context.timeoutMs }),
    ...(context.deadlineSource === undefined ? {} : { deadlineSource: context.deadlineSource }),
    logs: trimLogs(error.logs, context.maxLogBytes),
  };
  return ApplicationFailure.create({
    message: error.message,
    type: error.kind,
    nonRetryable: !isRetryableFailure(error.kind, error.limit),
    details: [details],
  });
}
