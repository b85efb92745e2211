/**
 * The `error_type` of a failed span when the caller gives no categoriser of its own.
 */
import { isToolExecutionError } from '../errors/tool-execution-error.js';
import { isWorkflowWaitError } from './wait-error.js';

/** Turns a thrown value into a short, low-cardinality `error_type` span attribute. */
export type ErrorCategorizer = (error: unknown) => string;

/**
 * toolcage's own errors by their kind (`timeout`, `tool_error`, …) or reason (`timeout`,
 * `aborted`, `poll_failed`); an abort or timeout `DOMException` as `aborted` or `timeout`; any
 * other error by its class name (`TypeError`); anything else thrown as `unknown`.
 */
export function categorizeError(error: unknown): string {
  if (isToolExecutionError(error)) return error.kind;
  if (isWorkflowWaitError(error)) return error.reason;
  if (error instanceof Error) {
    if (error.name === 'AbortError') return 'aborted';
    if (error.name === 'TimeoutError') return 'timeout';
    return error.name || 'Error';
  }
  return 'unknown';
}
