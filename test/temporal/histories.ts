/**
 * Hand-written Temporal histories of `toolPipeline` (test/temporal/workflows/tool-pipeline.ts):
 * the event shapes of temporal.api.history.v1, built through `@temporalio/proto`'s
 * `History.fromObject` (enums by name, durations and times as {seconds, nanos}, payloads as
 * `json/plain` bytes), which `Worker.runReplayHistory` takes as it is.
 *
 * Why not the proto-JSON form (`temporal workflow show --output json`, ids as strings, "10s"):
 * the SDK parses that with `historyFromJSON`, and with @temporalio 1.24.0 installed by npm next
 * to @grpc/proto-loader (which needs protobufjs 7) the two protobufjs 8 copies under
 * @temporalio/common and @temporalio/proto are not deduplicated; protojson from one copy then
 * refuses the other's types ("TypeError: type must be a Type", observed here).
 */
import { temporal } from '@temporalio/proto';

const TASK_QUEUE = { name: 'toolcage-test', kind: 'TASK_QUEUE_KIND_NORMAL' };
const IDENTITY = 'replay-test@toolcage';
const RUN_ID = '6a2f0d9e-3a1b-4c1d-9e7f-0b1c2d3e4f50';

/** A `json/plain` payload. */
export function payload(value: unknown): { metadata: Record<string, Buffer>; data: Buffer } {
  return {
    metadata: { encoding: Buffer.from('json/plain') },
    data: Buffer.from(JSON.stringify(value)),
  };
}

const seconds = (s: number) => ({ seconds: s });

type Attributes = Record<string, unknown>;

/** Builds the events in order, numbering them and spacing their times 10 ms apart. */
class HistoryBuilder {
  readonly events: Attributes[] = [];
  readonly #startMs: number;

  constructor(startMs: number) {
    this.#startMs = startMs;
  }

  /** Appends an event; returns its id. */
  add(type: string, attributesKey: string, attributes: Attributes): string {
    const id = this.events.length + 1;
    const timeMs = this.#startMs + id * 10;
    this.events.push({
      eventId: id,
      eventTime: { seconds: Math.floor(timeMs / 1000), nanos: (timeMs % 1000) * 1e6 },
      eventType: `EVENT_TYPE_${type}`,
      taskId: 1_048_576 + id,
      [attributesKey]: attributes,
    });
    return String(id);
  }

  /** A workflow task: scheduled, started, completed; returns the completed event's id. */
  workflowTask(): string {
    const scheduled = this.add('WORKFLOW_TASK_SCHEDULED', 'workflowTaskScheduledEventAttributes', {
      taskQueue: TASK_QUEUE,
      startToCloseTimeout: seconds(10),
      attempt: 1,
    });
    const started = this.add('WORKFLOW_TASK_STARTED', 'workflowTaskStartedEventAttributes', {
      scheduledEventId: scheduled,
      identity: IDENTITY,
      requestId: `request-${scheduled}`,
      historySizeBytes: 0,
    });
    return this.add('WORKFLOW_TASK_COMPLETED', 'workflowTaskCompletedEventAttributes', {
      scheduledEventId: scheduled,
      startedEventId: started,
      identity: IDENTITY,
    });
  }

  /** `executeTool` scheduled by the workflow task `completedId`; returns the scheduled event's id. */
  scheduleTool(activityId: string, completedId: string, request: unknown): string {
    return this.add('ACTIVITY_TASK_SCHEDULED', 'activityTaskScheduledEventAttributes', {
      activityId,
      activityType: { name: 'executeTool' },
      taskQueue: TASK_QUEUE,
      header: { fields: {} },
      input: { payloads: [payload(request)] },
      scheduleToCloseTimeout: seconds(0),
      scheduleToStartTimeout: seconds(0),
      startToCloseTimeout: seconds(60),
      heartbeatTimeout: seconds(10),
      workflowTaskCompletedEventId: completedId,
      retryPolicy: {
        initialInterval: seconds(1),
        backoffCoefficient: 2,
        maximumInterval: seconds(30),
        maximumAttempts: 3,
      },
    });
  }

  startTool(scheduledId: string): string {
    return this.add('ACTIVITY_TASK_STARTED', 'activityTaskStartedEventAttributes', {
      scheduledEventId: scheduledId,
      identity: IDENTITY,
      requestId: `request-${scheduledId}`,
      attempt: 1,
    });
  }

  /** A tool that ran and returned `output` (the activity's result around it). */
  completeTool(scheduledId: string, output: unknown): void {
    const started = this.startTool(scheduledId);
    this.add('ACTIVITY_TASK_COMPLETED', 'activityTaskCompletedEventAttributes', {
      result: { payloads: [payload(toolResult(output))] },
      scheduledEventId: scheduledId,
      startedEventId: started,
      identity: IDENTITY,
    });
  }

  history(): temporal.api.history.v1.History {
    return temporal.api.history.v1.History.fromObject({ events: this.events });
  }
}

/** An `executeTool` result as the activity returns it. */
export function toolResult(output: unknown): Attributes {
  return {
    output,
    durationMs: 12,
    outputBytes: JSON.stringify(output).length,
    exitCode: 0,
    enforcement: { sandbox: 'bwrap' },
    executionId: '00000000-0000-4000-8000-000000000001',
    logs: { stdout: '', stderr: '', truncated: false },
  };
}

function started(builder: HistoryBuilder, text: string): void {
  builder.add('WORKFLOW_EXECUTION_STARTED', 'workflowExecutionStartedEventAttributes', {
    workflowType: { name: 'toolPipeline' },
    taskQueue: TASK_QUEUE,
    input: { payloads: [payload({ text })] },
    workflowTaskTimeout: seconds(10),
    originalExecutionRunId: RUN_ID,
    firstExecutionRunId: RUN_ID,
    identity: IDENTITY,
    attempt: 1,
    firstWorkflowTaskBackoff: seconds(0),
    header: { fields: {} },
  });
}

const START_MS = Date.parse('2026-01-15T10:00:00.000Z');

/** Both tools ran; the workflow completed with both outputs. */
export function completedHistory(): temporal.api.history.v1.History {
  const h = new HistoryBuilder(START_MS);
  started(h, 'hi');
  const first = h.scheduleTool('1', h.workflowTask(), { toolId: 'echo', input: { text: 'hi' } });
  h.completeTool(first, { text: 'hi' });
  const second = h.scheduleTool('2', h.workflowTask(), { toolId: 'upper', input: { text: 'hi' } });
  h.completeTool(second, { text: 'HI' });
  const done = h.workflowTask();
  h.add('WORKFLOW_EXECUTION_COMPLETED', 'workflowExecutionCompletedEventAttributes', {
    result: { payloads: [payload({ first: { text: 'hi' }, second: { text: 'HI' } })] },
    workflowTaskCompletedEventId: done,
  });
  return h.history();
}

/** The first tool failed with a non-retryable kind; the workflow failed. */
export function failedHistory(): temporal.api.history.v1.History {
  const h = new HistoryBuilder(START_MS);
  started(h, 'hi');
  const first = h.scheduleTool('1', h.workflowTask(), { toolId: 'echo', input: { text: 'hi' } });
  const startedId = h.startTool(first);
  const applicationFailure = {
    message: 'Tool `echo` is not registered',
    source: 'TypeScriptSDK',
    applicationFailureInfo: { type: 'tool_not_found', nonRetryable: true },
  };
  h.add('ACTIVITY_TASK_FAILED', 'activityTaskFailedEventAttributes', {
    failure: applicationFailure,
    scheduledEventId: first,
    startedEventId: startedId,
    identity: IDENTITY,
    retryState: 'RETRY_STATE_NON_RETRYABLE_FAILURE',
  });
  endWithFailure(h, first, startedId, applicationFailure, 'RETRY_STATE_NON_RETRYABLE_FAILURE');
  return h.history();
}

/** The first tool's activity timed out (start-to-close) on the server; the workflow failed. */
export function timedOutHistory(): temporal.api.history.v1.History {
  const h = new HistoryBuilder(START_MS);
  started(h, 'hi');
  const first = h.scheduleTool('1', h.workflowTask(), { toolId: 'echo', input: { text: 'hi' } });
  const startedId = h.startTool(first);
  const timeoutFailure = {
    message: 'activity StartToClose timeout',
    source: 'Server',
    timeoutFailureInfo: { timeoutType: 'TIMEOUT_TYPE_START_TO_CLOSE' },
  };
  h.add('ACTIVITY_TASK_TIMED_OUT', 'activityTaskTimedOutEventAttributes', {
    failure: timeoutFailure,
    scheduledEventId: first,
    startedEventId: startedId,
    retryState: 'RETRY_STATE_TIMEOUT',
  });
  endWithFailure(h, first, startedId, timeoutFailure, 'RETRY_STATE_TIMEOUT');
  return h.history();
}

// The workflow failed with the ActivityFailure around `cause`.
function endWithFailure(
  h: HistoryBuilder,
  scheduledId: string,
  startedId: string,
  cause: Attributes,
  retryState: string,
): void {
  const done = h.workflowTask();
  h.add('WORKFLOW_EXECUTION_FAILED', 'workflowExecutionFailedEventAttributes', {
    failure: {
      message: 'Activity task failed',
      source: 'TypeScriptSDK',
      cause,
      activityFailureInfo: {
        scheduledEventId: scheduledId,
        startedEventId: startedId,
        identity: IDENTITY,
        activityType: { name: 'executeTool' },
        activityId: '1',
        retryState,
      },
    },
    retryState: 'RETRY_STATE_RETRY_POLICY_NOT_SET',
    workflowTaskCompletedEventId: done,
  });
}

/**
 * The workflow was cancelled while its first tool ran: the workflow asked for the activity's
 * cancellation, waited for the worker to confirm it (WAIT_CANCELLATION_COMPLETED), and ended
 * cancelled.
 */
export function canceledHistory(): temporal.api.history.v1.History {
  const h = new HistoryBuilder(START_MS);
  started(h, 'hi');
  const first = h.scheduleTool('1', h.workflowTask(), { toolId: 'echo', input: { text: 'hi' } });
  h.add('WORKFLOW_EXECUTION_CANCEL_REQUESTED', 'workflowExecutionCancelRequestedEventAttributes', {
    cause: 'test',
    identity: IDENTITY,
  });
  const requestedBy = h.workflowTask();
  const cancelRequested = h.add(
    'ACTIVITY_TASK_CANCEL_REQUESTED',
    'activityTaskCancelRequestedEventAttributes',
    { scheduledEventId: first, workflowTaskCompletedEventId: requestedBy },
  );
  const startedId = h.startTool(first);
  h.add('ACTIVITY_TASK_CANCELED', 'activityTaskCanceledEventAttributes', {
    latestCancelRequestedEventId: cancelRequested,
    scheduledEventId: first,
    startedEventId: startedId,
    identity: IDENTITY,
  });
  const done = h.workflowTask();
  h.add('WORKFLOW_EXECUTION_CANCELED', 'workflowExecutionCanceledEventAttributes', {
    workflowTaskCompletedEventId: done,
  });
  return h.history();
}

/** Like {@link completedHistory} but the second tool is scheduled before the first one. */
export function nondeterministicHistory(): temporal.api.history.v1.History {
  const h = new HistoryBuilder(START_MS);
  started(h, 'hi');
  const first = h.scheduleTool('1', h.workflowTask(), { toolId: 'echo', input: { text: 'hi' } });
  h.completeTool(first, { text: 'hi' });
  const done = h.workflowTask();
  // The workflow schedules a second tool here; this history says it completed instead.
  h.add('WORKFLOW_EXECUTION_COMPLETED', 'workflowExecutionCompletedEventAttributes', {
    result: { payloads: [payload({ first: { text: 'hi' } })] },
    workflowTaskCompletedEventId: done,
  });
  return h.history();
}
