/**
 * The `executeTool` activity's name and JSON shapes: what a workflow in any language sends, what
 * it gets back, and the details of a failure. Pure (workflow code imports it too).
 */
import type { ErrorKind } from '../errors/kinds.js';
import type { LimitName, ToolThrownError } from '../errors/tool-execution-error.js';
import type { ExecuteRequest } from '../runtime/runtime-options.js';
import type { Enforcement } from '../sandbox/types.js';

/** The name workflows schedule the activity by (Go: `workflow.ExecuteActivity(ctx, "executeTool", req)`). */
export const EXECUTE_TOOL_ACTIVITY = 'executeTool';

/**
 * The argument of `executeTool`: {@link ExecuteRequest} without what cannot cross the wire
 * (`signal`, `onLog`). On the activity, `toolPath` is refused unless the worker's runtime allows
 * ad-hoc tools, `env` is validated like the runtime's, and `timeoutMs` is also capped by the
 * time the activity has left (its start-to-close and schedule-to-close timeouts, less a margin).
 */
export type ToolActivityRequest = Omit<ExecuteRequest, 'signal' | 'onLog'>;

/** Logs of a result or a failure, each stream's tail trimmed to the activity's `maxLogBytes`. */
export interface ToolActivityLogs {
  readonly stdout: string;
  readonly stderr: string;
  /** True when the tool printed more than was kept (by the runtime's or the activity's cap). */
  readonly truncated: boolean;
}

/** What `executeTool` returns. */
export interface ToolActivityResult<T = unknown> {
  readonly output: T;
  readonly durationMs: number;
  readonly outputBytes: number;
  readonly exitCode: number;
  readonly enforcement: Enforcement;
  readonly executionId: string;
  readonly logs: ToolActivityLogs;
}

/** The one entry of an `ApplicationFailure`'s `details` when `executeTool` fails. */
export interface ToolFailureDetails {
  readonly kind: ErrorKind;
  readonly toolId: string;
  readonly message: string;
  /** The limit that was hit (`resource_limit`, `out_of_memory`, `output_limit`). */
  readonly limit?: LimitName;
  /** What the tool threw (`tool_error`). */
  readonly toolError?: ToolThrownError;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly durationMs: number;
  readonly executionId?: string;
  /** The deadline the tool ran under, ms, and where it came from. */
  readonly timeoutMs?: number;
  readonly deadlineSource?: DeadlineSource;
  /** The tails of the tool's logs. */
  readonly logs: ToolActivityLogs;
}

/**
 * What set a tool's deadline: `request` — the request's `timeoutMs`, or none and the tool's own
 * applies (the runtime caps a request's by the tool's); `activity` — the time the activity had
 * left before its start-to-close or schedule-to-close timeout, less the margin.
 */
export type DeadlineSource = 'request' | 'activity';
