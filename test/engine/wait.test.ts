/**
 * waitForCompletion with a fake poller under fake timers: the backoff it keeps, how it ends
 * (completed, timeout, abort, failing poll, nonsense answer), and what it records for each end —
 * the counter with the number of polls and the outcome, the histogram with the seed's buckets,
 * the span with its `poll_iteration` events in order and `total_iterations`.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  EngineMetricBuckets,
  EngineMetricNames,
  WorkflowWaitError,
  WorkflowWaitReason,
  type PollResult,
} from '../../src/engine/index.js';
import { rejection as rejectionOf, testKit } from '../helpers/engine.js';
import { collect, histogramPoint, metric, points, type TestReader } from '../helpers/otel.js';

// No jitter: pauses of exactly 100, 150, 225, 338, 506, 759, 1000, 1000… ms.
const EXACT = { random: () => 0 };

/** A poller that is RUNNING `running` times, then COMPLETED with `value`; notes when it was called. */
function poller<T>(running: number, value: T) {
  const calls: { attempt: number; at: number }[] = [];
  const poll = (attempt: number): PollResult<T> => {
    calls.push({ attempt, at: performance.now() });
    return attempt > running
      ? { done: true, state: 'COMPLETED', value }
      : { done: false, state: 'RUNNING' };
  };
  return { calls, poll };
}

/** The WorkflowWaitError a wait must reject with. */
async function rejection(promise: Promise<unknown>): Promise<WorkflowWaitError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(WorkflowWaitError);
  return error as WorkflowWaitError;
}

/**
 * Settles a wait running under fake timers, timer by timer. Not `runAllTimers`: that would also
 * fire (and so hide) a timer the wait forgot to clear, which afterEach is there to catch.
 */
async function settle(promise: Promise<unknown>): Promise<void> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; !settled; step++) {
    if (step > 10_000) throw new Error('the wait did not settle');
    await vi.advanceTimersToNextTimerAsync();
  }
}

async function recorded(reader: TestReader) {
  expectNoTimersLeft();
  vi.useRealTimers();
  const all = await collect(reader);
  return {
    polls: points(metric(all, EngineMetricNames.workflowSyncPolls)),
    duration: (attributes: Record<string, unknown>) =>
      histogramPoint(metric(all, EngineMetricNames.workflowSyncPollDuration), attributes),
  };
}

function onlySpan(exporter: InMemorySpanExporter): ReadableSpan {
  const spans = exporter.getFinishedSpans();
  expect(spans.map((span) => span.name)).toEqual(['workflow.wait_completion']);
  return spans[0]!;
}

const events = (span: ReadableSpan) =>
  span.events.map((event) => ({ name: event.name, attributes: event.attributes }));

beforeEach(() => {
  vi.useFakeTimers();
});

/**
 * Nothing a wait started outlives it. The in-memory span exporter answers each export through
 * a 0 ms timer: those are run first; any other timer still pending is a leak.
 */
function expectNoTimersLeft(): void {
  vi.advanceTimersByTime(0);
  expect(vi.getTimerCount()).toBe(0);
}

afterEach(() => {
  if (vi.isFakeTimers()) expectNoTimersLeft();
  vi.useRealTimers();
});

describe('waitForCompletion', () => {
  test('polls at once, then after capped exponential pauses, and resolves with the value', async () => {
    const { kit, reader, exporter, warnings } = testKit();
    const { calls, poll } = poller(6, { total: 42 });
    const wait = kit.waitForCompletion({
      workflowId: 'order-fulfilment',
      poll,
      timeoutMs: 60_000,
      backoff: EXACT,
    });
    await settle(wait);
    await expect(wait).resolves.toEqual({ total: 42 });

    const start = calls[0]!.at;
    expect(calls.map((call) => ({ attempt: call.attempt, after: call.at - start }))).toEqual([
      { attempt: 1, after: 0 },
      { attempt: 2, after: 100 },
      { attempt: 3, after: 250 },
      { attempt: 4, after: 475 },
      { attempt: 5, after: 813 },
      { attempt: 6, after: 1_319 },
      { attempt: 7, after: 2_078 },
    ]);

    const span = onlySpan(exporter);
    expect(span.instrumentationScope.name).toBe('compozy.workflow');
    expect(span.attributes).toEqual({
      workflow_id: 'order-fulfilment',
      timeout_ms: 60_000,
      total_iterations: 7,
      outcome: 'completed',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(events(span)).toEqual([
      ...[1, 2, 3, 4, 5, 6].map((attempt) => ({
        name: 'poll_iteration',
        attributes: { attempt, state: 'RUNNING' },
      })),
      { name: 'poll_iteration', attributes: { attempt: 7, state: 'COMPLETED' } },
    ]);

    const { polls, duration } = await recorded(reader);
    expect(polls).toEqual([
      { attributes: { workflow_id: 'order-fulfilment', outcome: 'completed' }, value: 7 },
    ]);
    const histogram = duration({ workflow_id: 'order-fulfilment' });
    expect(histogram.buckets.boundaries).toEqual([0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);
    expect(histogram.buckets.boundaries).toEqual(EngineMetricBuckets.workflowSyncPollDuration);
    // 2.078 s falls in (1, 2.5].
    expect(histogram.count).toBe(1);
    expect(histogram.sum).toBeCloseTo(2.078, 6);
    expect(histogram.buckets.counts).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(warnings).toEqual([]);
  });

  test('a workflow done at the first poll costs one poll and no pause', async () => {
    const { kit, reader } = testKit();
    const poll = vi.fn((_attempt: number): PollResult<string> => ({
      done: true,
      state: 'COMPLETED',
      value: 'ok',
    }));
    await expect(kit.waitForCompletion({ workflowId: 'quick', poll })).resolves.toBe('ok');
    expect(poll).toHaveBeenCalledTimes(1);
    expect(poll.mock.calls[0]![0]).toBe(1);
    const { polls, duration } = await recorded(reader);
    expect(polls).toEqual([
      { attributes: { workflow_id: 'quick', outcome: 'completed' }, value: 1 },
    ]);
    // No time passed: the first bucket (≤ 0.1 s).
    expect(duration({ workflow_id: 'quick' }).buckets.counts[0]).toBe(1);
  });

  test('the default backoff re-polls within 100 ms with jitter drawn from the injected source', async () => {
    const { kit } = testKit();
    const draws = [0.5, 1, 0];
    const { calls, poll } = poller(3, 'done');
    const wait = kit.waitForCompletion({
      workflowId: 'jittered',
      poll,
      backoff: { random: () => draws.shift() ?? 0 },
    });
    await settle(wait);
    const start = calls[0]!.at;
    // Pauses: 100 × (1 − 0.2 × 0.5) = 90, 150 × (1 − 0.2) = 120, 225 × 1 = 225.
    expect(calls.map((call) => call.at - start)).toEqual([0, 90, 210, 435]);
  });

  test('timeout: rejects at the deadline with reason timeout; the polls made are counted as timeout', async () => {
    const { kit, reader, exporter } = testKit();
    const { calls, poll } = poller(Number.POSITIVE_INFINITY, 'never');
    const wait = kit.waitForCompletion({
      workflowId: 'slow-flow',
      poll,
      timeoutMs: 2_000,
      backoff: EXACT,
    });
    await settle(wait);
    const error = await rejection(wait);
    // Polls at 0, 100, 250, 475, 813, 1319; the next would be at 2078, after the deadline.
    expect(calls.map((call) => call.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(error).toMatchObject({
      name: 'WorkflowWaitError',
      reason: WorkflowWaitReason.Timeout,
      workflowId: 'slow-flow',
      attempts: 6,
      elapsedMs: 2_000,
      lastState: 'RUNNING',
      message:
        'Workflow `slow-flow` did not complete within 2000 ms (6 polls, last state `RUNNING`)',
    });

    const span = onlySpan(exporter);
    expect(span.attributes).toMatchObject({
      total_iterations: 6,
      outcome: 'timeout',
      error_type: 'timeout',
    });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: error.message });
    expect(events(span).map((event) => event.name)).toEqual([
      ...Array.from({ length: 6 }, () => 'poll_iteration'),
      'exception',
    ]);

    const { polls, duration } = await recorded(reader);
    expect(polls).toEqual([
      { attributes: { workflow_id: 'slow-flow', outcome: 'timeout' }, value: 6 },
    ]);
    // 2 s falls in (1, 2.5].
    expect(duration({ workflow_id: 'slow-flow' }).buckets.counts).toEqual([
      0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  test('timeout during a poll: the poll in flight sees its signal fire, and counts as an iteration', async () => {
    const { kit, reader } = testKit();
    const signals: AbortSignal[] = [];
    const wait = kit.waitForCompletion<string>({
      workflowId: 'hanging-store',
      timeoutMs: 1_000,
      // The second poll never answers (a store that hangs).
      poll: (attempt, { signal }) => {
        signals.push(signal);
        return attempt === 1 ? { done: false, state: 'PENDING' } : new Promise(() => {});
      },
    });
    await settle(wait);
    const error = await rejection(wait);
    expect(error.reason).toBe('timeout');
    expect(error.attempts).toBe(2);
    expect(error.lastState).toBe('PENDING');
    expect(signals[1]!.aborted).toBe(true);
    expect((signals[1]!.reason as DOMException).name).toBe('TimeoutError');
    const { polls } = await recorded(reader);
    expect(polls).toEqual([
      { attributes: { workflow_id: 'hanging-store', outcome: 'timeout' }, value: 2 },
    ]);
  });

  test('abort: rejects with reason aborted and the signal reason as cause; counted as error', async () => {
    const { kit, reader, exporter } = testKit();
    const { poll } = poller(Number.POSITIVE_INFINITY, 'never');
    const controller = new AbortController();
    const wait = kit.waitForCompletion({
      workflowId: 'cancelled-flow',
      poll,
      signal: controller.signal,
      backoff: EXACT,
    });
    wait.catch(() => {});
    // Polls at 0, 100, 250; aborted at 350, during the third pause.
    await vi.advanceTimersByTimeAsync(350);
    const reason = new Error('client went away');
    controller.abort(reason);
    await settle(wait);
    const error = await rejection(wait);
    expect(error).toMatchObject({
      reason: 'aborted',
      attempts: 3,
      elapsedMs: 350,
      cause: reason,
      message:
        'Waiting for workflow `cancelled-flow` was aborted after 350 ms (3 polls, last state `RUNNING`)',
    });
    expect(onlySpan(exporter).attributes).toMatchObject({
      outcome: 'error',
      error_type: 'aborted',
      total_iterations: 3,
    });
    const { polls } = await recorded(reader);
    expect(polls).toEqual([
      { attributes: { workflow_id: 'cancelled-flow', outcome: 'error' }, value: 3 },
    ]);
  });

  test('a signal aborted before the call: no poll at all, 0 iterations counted as error', async () => {
    const { kit, reader } = testKit();
    const poll = vi.fn((): PollResult<never> => ({ done: false, state: 'RUNNING' }));
    const wait = kit.waitForCompletion({
      workflowId: 'never-started',
      poll,
      signal: AbortSignal.abort(),
    });
    const error = await rejection(wait);
    expect(error.reason).toBe('aborted');
    expect(error.attempts).toBe(0);
    expect((error.cause as DOMException).name).toBe('AbortError');
    expect(poll).not.toHaveBeenCalled();
    const { polls } = await recorded(reader);
    expect(polls).toEqual([
      { attributes: { workflow_id: 'never-started', outcome: 'error' }, value: 0 },
    ]);
  });

  test.each([
    [
      'throws',
      () => {
        throw new Error('store unreachable');
      },
    ],
    ['rejects', () => Promise.reject(new Error('store unreachable'))],
  ])(
    'a poll that %s ends the wait: reason poll_failed, cause its error, counted as error',
    async (_, failing) => {
      const { kit, reader, exporter } = testKit();
      const wait = kit.waitForCompletion<string>({
        workflowId: 'flaky-store',
        backoff: EXACT,
        poll: (attempt) => (attempt < 3 ? { done: false, state: 'RUNNING' } : failing()),
      });
      await settle(wait);
      const error = await rejection(wait);
      expect(error).toMatchObject({
        reason: 'poll_failed',
        attempts: 3,
        lastState: 'RUNNING',
        message: 'Polling workflow `flaky-store` failed on attempt 3: store unreachable',
      });
      expect((error.cause as Error).message).toBe('store unreachable');
      const span = onlySpan(exporter);
      expect(span.attributes).toMatchObject({ outcome: 'error', error_type: 'poll_failed' });
      expect(events(span).map((event) => event.name)).toEqual([
        'poll_iteration',
        'poll_iteration',
        'exception',
      ]);
      const { polls } = await recorded(reader);
      expect(polls).toEqual([
        { attributes: { workflow_id: 'flaky-store', outcome: 'error' }, value: 3 },
      ]);
    },
  );

  test.each([
    [
      undefined,
      'Expected `poll()` to return { done: boolean, state: string, value? }, got `undefined` (undefined)',
    ],
    [
      { done: 'yes', state: 'X' },
      'Expected `poll()` to return { done: boolean, state: string, value? }, got `{"done":"yes","state":"X"}` (object)',
    ],
    [
      { done: false },
      'Expected `poll()` to return { done: boolean, state: string, value? }, got `{"done":false}` (object)',
    ],
  ])(
    'an answer that is not a poll result (%o) fails the wait with a TypeError cause',
    async (answer, message) => {
      const { kit } = testKit();
      const error = await rejection(
        kit.waitForCompletion({ workflowId: 'wf', poll: () => answer as never }),
      );
      expect(error.reason).toBe('poll_failed');
      expect(error.cause).toBeInstanceOf(TypeError);
      expect((error.cause as TypeError).message).toBe(message);
    },
  );

  test('workflowIdLabel: false drops the label from both metrics, not from the span', async () => {
    const { kit, reader, exporter } = testKit({ workflowIdLabel: false });
    const { poll } = poller(1, 1);
    const wait = kit.waitForCompletion({ workflowId: 'unbounded-ids', poll });
    await settle(wait);
    await wait;
    expect(onlySpan(exporter).attributes['workflow_id']).toBe('unbounded-ids');
    const { polls, duration } = await recorded(reader);
    expect(polls).toEqual([{ attributes: { outcome: 'completed' }, value: 2 }]);
    expect(duration({}).count).toBe(1);
  });

  test('many waits: each adds its own polls once, under its own outcome', async () => {
    const { kit, reader } = testKit();
    const waits = [
      kit.waitForCompletion({ workflowId: 'a', poll: poller(2, 'x').poll, backoff: EXACT }),
      kit.waitForCompletion({ workflowId: 'a', poll: poller(0, 'y').poll }),
      kit.waitForCompletion({
        workflowId: 'a',
        poll: poller(Number.POSITIVE_INFINITY, 'z').poll,
        timeoutMs: 200,
        backoff: EXACT,
      }),
    ];
    await settle(Promise.allSettled(waits));
    const { polls, duration } = await recorded(reader);
    // 3 + 1 polls completed; the timed-out wait polled at 0 and 100 (the next, at 250, is past 200).
    expect(polls).toEqual([
      { attributes: { workflow_id: 'a', outcome: 'completed' }, value: 4 },
      { attributes: { workflow_id: 'a', outcome: 'timeout' }, value: 2 },
    ]);
    expect(duration({ workflow_id: 'a' }).count).toBe(3);
  });

  test('the poll runs inside the wait span (its context is active)', async () => {
    const { trace, context } = await import('@opentelemetry/api');
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager());
    try {
      const { kit, exporter } = testKit();
      let seen: string | undefined;
      await kit.waitForCompletion({
        workflowId: 'ctx',
        poll: () => {
          seen = trace.getActiveSpan()?.spanContext().spanId;
          return { done: true, state: 'COMPLETED', value: 0 };
        },
      });
      expect(seen).toBe(onlySpan(exporter).spanContext().spanId);
    } finally {
      context.disable();
    }
  });
});

describe('waitForCompletion option errors (TypeError, thrown synchronously)', () => {
  const { kit } = testKit();
  const poll = (): PollResult<number> => ({ done: true, state: 'COMPLETED', value: 1 });
  test.each([
    [{ workflowId: '', poll }, 'Expected `workflowId` to be a non-empty string, got `` (string)'],
    [{ workflowId: 7, poll }, 'Expected `workflowId` to be a non-empty string, got `7` (number)'],
    [{ workflowId: 'wf' }, 'Expected `poll` to be a function, got `undefined` (undefined)'],
    [
      { workflowId: 'wf', poll, timeoutMs: -1 },
      'Expected `timeoutMs` to be a positive integer, got `-1` (number)',
    ],
    [
      { workflowId: 'wf', poll, timeoutMs: 1.5 },
      'Expected `timeoutMs` to be a positive integer, got `1.5` (number)',
    ],
    [
      { workflowId: 'wf', poll, signal: {} },
      'Expected `signal` to be an AbortSignal, got `{}` (object)',
    ],
    [
      { workflowId: 'wf', poll, backoff: { jitter: -1 } },
      'Expected `backoff.jitter` to be a number from 0 to 1, got `-1` (number)',
    ],
  ])('%o', (options, message) => {
    expect(() => kit.waitForCompletion(options as never)).toThrow(TypeError);
    expect(() => kit.waitForCompletion(options as never)).toThrow(message);
  });
});
