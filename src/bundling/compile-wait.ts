/**
 * A call waiting for a build: under its own deadline and signal (the build goes on when it gives
 * up), with an error of its own (a shared build's error reaches several calls, and each records
 * its own duration on what it throws).
 */
import { ErrorKind } from '../errors/kinds.js';
import { isToolExecutionError, ToolExecutionError } from '../errors/tool-execution-error.js';

/** How long a call waits for a build: its own deadline and signal. */
export interface BuildWait {
  /** Aborted with the call's end reason (`timeout`, `cancelled`, `closed`). */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** The call's execution id, carried by the error it gets. */
  readonly executionId?: string;
}

/** `building`, or the call's `timeout`/`cancelled` when its signal aborts first. */
export function waitForBuild<T>(building: Promise<T>, toolId: string, wait: BuildWait): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(waitEnded(wait.signal.reason, toolId, wait));
    if (wait.signal.aborted) {
      onAbort();
      return;
    }
    wait.signal.addEventListener('abort', onAbort, { once: true });
    building.then(
      (built) => {
        wait.signal.removeEventListener('abort', onAbort);
        resolve(built);
      },
      (error: unknown) => {
        wait.signal.removeEventListener('abort', onAbort);
        reject(ownCopy(error, toolId, wait.executionId));
      },
    );
  });
}

function waitEnded(reason: unknown, toolId: string, wait: BuildWait): ToolExecutionError {
  const ids = wait.executionId === undefined ? {} : { executionId: wait.executionId };
  return reason === 'timeout'
    ? new ToolExecutionError({
        kind: ErrorKind.Timeout,
        toolId,
        message: `Tool \`${toolId}\` timed out after ${wait.timeoutMs} ms while being built`,
        ...ids,
      })
    : new ToolExecutionError({
        kind: ErrorKind.Cancelled,
        toolId,
        ...ids,
        message:
          reason === 'cancelled'
            ? `Tool \`${toolId}\` was cancelled by the caller while being built`
            : `Tool \`${toolId}\` was cancelled while being built: the runtime was closed`,
      });
}

function ownCopy(
  error: unknown,
  toolId: string,
  executionId: string | undefined,
): ToolExecutionError {
  const ids = executionId === undefined ? {} : { executionId };
  if (isToolExecutionError(error)) {
    return new ToolExecutionError({
      kind: error.kind,
      toolId: error.toolId,
      message: error.message,
      logs: error.logs,
      ...(error.cause === undefined ? {} : { cause: error.cause }),
      ...ids,
    });
  }
  return new ToolExecutionError({
    kind: ErrorKind.Internal,
    toolId,
    message: `Tool \`${toolId}\`: internal error while building: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
    ...ids,
  });
}
