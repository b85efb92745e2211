/**
 * The `executeTool` activity: one tool execution of a toolcage runtime, run by whichever worker
 * of the task queue took the task, with Temporal's cancellation, deadlines, heartbeats and
 * failures mapped onto toolcage's.
 */
import { ErrorKind } from '../errors/kinds.js';
import { isToolExecutionError, ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ExecuteRequest, ExecuteResult } from '../runtime/runtime-options.js';
import { expectPositiveInteger, expectType } from '../errors/expect.js';
import type { ToolRuntime } from '../runtime/runtime.js';
import { activityTimeLeftMs, toolDeadline, type ToolDeadline } from './activity-deadline.js';
import { startHeartbeats } from './heartbeat.js';
import { parseToolRequest } from './request.js';
import { activitySdk, commonSdk } from './sdk.js';
import { toApplicationFailure, type FailureContext } from './to-failure.js';
import { trimLogs } from './trim-logs.js';
import type { ToolActivityRequest, ToolActivityResult } from './types.js';

/** Options of {@link createToolActivities}. All optional. */
export interface ToolActivitiesOptions {
  /**
   * Each log stream's tail kept in a result or a failure's details, bytes (the history keeps
   * every result). @default 4096
   */
  readonly maxLogBytes?: number;
  /**
   * Largest result, bytes: a tool whose result is larger is killed as it crosses it and fails
   * with `output_limit`. Temporal refuses payloads over 2 MiB by default (and warns over 512 KiB).
   * A tool's own smaller limit still applies. @default 1048576
   */
  readonly maxOutputBytes?: number;
  /**
   * Kept free before the activity's own timeout, ms, to kill the tool and report its `timeout`
   * to the server (at most a fifth of the time the activity has left). @default 1000
   */
  readonly deadlineMarginMs?: number;
}

/** The activities of {@link createToolActivities}, registered by name with a Temporal worker. */
export interface ToolActivities {
  /**
   * Runs one tool. Rejects with an `ApplicationFailure` (`type`: the error kind) or, when the
   * activity was cancelled, with Temporal's `CancelledFailure` once the tool's process tree is gone.
   */
  readonly executeTool: <T = unknown>(
    request: ToolActivityRequest,
  ) => Promise<ToolActivityResult<T>>;
}

const DEFAULTS = { maxLogBytes: 4096, maxOutputBytes: 1024 * 1024, deadlineMarginMs: 1000 };

/**
 * The activities serving `runtime`'s tools: `{ executeTool }`. The runtime's own settings
 * apply (registry, sandbox, limits, ad-hoc tools only if it allows them, concurrency).
 */
export function createToolActivities(
  runtime: ToolRuntime,
  options: ToolActivitiesOptions = {},
): ToolActivities {
  expectType('runtime', runtime, 'object');
  if (typeof runtime.executeToolWithTimeout !== 'function' || typeof runtime.settings !== 'object')
    throw new TypeError('Expected `runtime` to be a ToolRuntime (from createToolRuntime)');
  const settings = normalizeActivityOptions(options);
  return {
    executeTool: <T>(raw: ToolActivityRequest) => executeTool<T>(runtime, settings, raw),
  };
}

/** {@link ToolActivitiesOptions} with the defaults filled in. */
interface ActivitySettings {
  readonly maxLogBytes: number;
  readonly maxOutputBytes: number;
  readonly marginMs: number;
}

// Fills the defaults; a TypeError names the first wrong option.
function normalizeActivityOptions(options: ToolActivitiesOptions): ActivitySettings {
  expectType('options', options, 'object');
  const maxLogBytes = options.maxLogBytes ?? DEFAULTS.maxLogBytes;
  expectPositiveInteger('maxLogBytes', maxLogBytes);
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULTS.maxOutputBytes;
  expectPositiveInteger('maxOutputBytes', maxOutputBytes);
  const marginMs = options.deadlineMarginMs ?? DEFAULTS.deadlineMarginMs;
  expectPositiveInteger('deadlineMarginMs', marginMs, true);
  return { maxLogBytes, maxOutputBytes, marginMs };
}

// One attempt of the activity: the tool run within the activity's deadline, heartbeating.
async function executeTool<T>(
  runtime: ToolRuntime,
  settings: ActivitySettings,
  raw: ToolActivityRequest,
): Promise<ToolActivityResult<T>> {
  const { maxLogBytes } = settings;
  const context = activitySdk.Context.current();
  const attemptStartedAt = Date.now();
  const toolId = typeof raw?.toolId === 'string' ? raw.toolId : (raw?.toolPath ?? '(none)');
  const request = parseRequest(raw, toolId, maxLogBytes);
  const deadline = toolDeadline(
    request.timeoutMs,
    activityTimeLeftMs(context.info, attemptStartedAt, Date.now()),
    settings.marginMs,
  );
  if (deadline.expired) throw notStarted(toolId, deadline, maxLogBytes);

  const stopHeartbeats = startHeartbeats(context.info.heartbeatTimeoutMs, () =>
    context.heartbeat({ toolId, elapsedMs: Date.now() - attemptStartedAt }),
  );
  try {
    const result = await runtime.executeToolWithTimeout<T>(
      boundedRequest(request, deadline, settings.maxOutputBytes, context.cancellationSignal),
    );
    return activityResult(result, maxLogBytes);
  } catch (error) {
    throw attemptFailure(error, context.cancellationSignal, {
      maxLogBytes,
      toolId,
      timeoutMs: deadline.timeoutMs,
      deadlineSource: deadline.source,
    });
  } finally {
    stopHeartbeats();
  }
}

// The request, or the ApplicationFailure saying what is wrong with it.
function parseRequest(
  raw: ToolActivityRequest,
  toolId: string,
  maxLogBytes: number,
): ExecuteRequest {
  try {
    return parseToolRequest(raw);
  } catch (error) {
    throw toApplicationFailure(error, { maxLogBytes, toolId });
  }
}

// The request as the runtime runs it: within the activity's deadline and output cap, cancelled
// with the activity.
function boundedRequest(
  request: ExecuteRequest,
  deadline: Extract<ToolDeadline, { expired: false }>,
  maxOutputBytes: number,
  signal: AbortSignal,
): ExecuteRequest {
  return {
    ...request,
    ...(deadline.timeoutMs === undefined ? {} : { timeoutMs: deadline.timeoutMs }),
    limits: {
      ...request.limits,
      maxOutputBytes: Math.min(request.limits?.maxOutputBytes ?? maxOutputBytes, maxOutputBytes),
    },
    signal,
  };
}

// The result as the workflow receives it (the history keeps it: log tails only).
function activityResult<T>(result: ExecuteResult<T>, maxLogBytes: number): ToolActivityResult<T> {
  return {
    output: result.output,
    durationMs: result.durationMs,
    outputBytes: result.outputBytes,
    exitCode: result.exitCode,
    enforcement: result.enforcement,
    executionId: result.executionId,
    logs: trimLogs(result.logs, maxLogBytes),
  };
}

// What a failed attempt rejects with.
function attemptFailure(error: unknown, cancelled: AbortSignal, failure: FailureContext): Error {
  // Temporal cancelled the activity, and the runtime has killed the tool's process tree
  // (it settles only once the tree is gone): confirm the cancellation with the SDK's own
  // CancelledFailure, so that it can tell a cancel from a pause, a reset or a shutdown.
  if (cancelled.aborted && isToolExecutionError(error) && error.kind === ErrorKind.Cancelled) {
    const reason: unknown = cancelled.reason;
    return reason instanceof commonSdk.CancelledFailure
      ? reason
      : new commonSdk.CancelledFailure(error.message, [], error);
  }
  return toApplicationFailure(error, failure);
}

// An attempt whose activity has (almost) no time left: `timeout`, without starting the tool.
function notStarted(
  toolId: string,
  deadline: Extract<ToolDeadline, { expired: true }>,
  maxLogBytes: number,
) {
  return toApplicationFailure(
    new ToolExecutionError({
      kind: ErrorKind.Timeout,
      toolId,
      message:
        `Tool \`${toolId}\` was not started: its activity has ${Math.max(0, deadline.leftMs)} ms ` +
        'left before its start-to-close or schedule-to-close timeout',
    }),
    { maxLogBytes, toolId, deadlineSource: 'activity' },
  );
}
