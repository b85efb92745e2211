/**
 * A meter, tracer or span that throws never changes what the observed code returns or throws,
 * never runs it twice, and is reported once per kit.
 */
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createEngineKit,
  WorkflowWaitError,
  type EngineKitOptions,
} from '../../src/engine/index.js';

/** An object every property of which is a function that throws. */
function throwingEverything(what: string): never {
  return new Proxy(
    {},
    {
      get: (_, property) =>
        property === 'then'
          ? undefined
          : () => {
              throw new Error(`${what}.${String(property)} is broken`);
            },
    },
  ) as never;
}

const VARIANTS: [string, EngineKitOptions][] = [
  ['getMeter throws', { meterProvider: throwingEverything('meterProvider') }],
  [
    'instruments throw',
    {
      meterProvider: {
        getMeter: () => throwingEverything('meter'),
      },
    },
  ],
  [
    'every instrument call throws',
    {
      meterProvider: {
        getMeter: () =>
          ({
            createCounter: () => throwingEverything('counter'),
            createHistogram: () => throwingEverything('histogram'),
          }) as never,
      },
    },
  ],
  ['getTracer throws', { tracerProvider: throwingEverything('tracerProvider') }],
  ['startSpan throws', { tracerProvider: { getTracer: () => throwingEverything('tracer') } }],
  [
    'every span method throws',
    {
      tracerProvider: {
        getTracer: () => ({ startSpan: () => throwingEverything('span') }) as never,
      },
    },
  ],
];

afterEach(() => {
  context.disable();
});

describe.each(VARIANTS)('%s', (_, broken) => {
  test('results, errors and call counts are what they would be without telemetry; one warning', async () => {
    const warnings: string[] = [];
    const kit = createEngineKit({ ...broken, onWarning: (message) => warnings.push(message) });

    // A wait that completes, one that times out, one whose poll fails.
    const poll = vi.fn((attempt: number) =>
      attempt < 2
        ? { done: false as const, state: 'RUNNING' }
        : { done: true as const, state: 'COMPLETED', value: { ok: 1 } },
    );
    const fast = { initialDelayMs: 1, maxDelayMs: 1 };
    await expect(kit.waitForCompletion({ workflowId: 'wf', poll, backoff: fast })).resolves.toEqual(
      { ok: 1 },
    );
    expect(poll).toHaveBeenCalledTimes(2);
    const timedOut = await kit
      .waitForCompletion({
        workflowId: 'wf',
        timeoutMs: 20,
        poll: () => ({ done: false, state: 'RUNNING' }),
        backoff: fast,
      })
      .catch((error: unknown) => error);
    expect(timedOut).toBeInstanceOf(WorkflowWaitError);
    expect((timedOut as WorkflowWaitError).reason).toBe('timeout');
    const storeDown = new Error('store down');
    const failed = await kit
      .waitForCompletion({
        workflowId: 'wf',
        poll: () => {
          throw storeDown;
        },
      })
      .catch((error: unknown) => error);
    expect((failed as WorkflowWaitError).reason).toBe('poll_failed');
    expect((failed as WorkflowWaitError).cause).toBe(storeDown);

    // executeWorkflowSync: a value, and start's own error.
    const start = vi.fn(() => 'handle');
    await expect(
      kit.executeWorkflowSync({
        workflowId: 'wf',
        timeoutMs: 5_000,
        execId: 'e-1',
        start,
        poll: (_attempt, { started }) => ({ done: true, state: 'COMPLETED', value: started }),
      }),
    ).resolves.toBe('handle');
    expect(start).toHaveBeenCalledTimes(1);
    const startFailure = new Error('cannot start');
    await expect(
      kit.executeWorkflowSync({
        workflowId: 'wf',
        timeoutMs: 5_000,
        start: () => Promise.reject(startFailure),
        poll: () => ({ done: true, state: 'COMPLETED', value: 0 }),
      }),
    ).rejects.toBe(startFailure);

    // Task and agent spans: the value, and the very same error object, each function run once.
    const run = vi.fn(() => 42);
    await expect(kit.withTaskSpan({ taskId: 't', timeoutMs: 10 }, run)).resolves.toBe(42);
    expect(run).toHaveBeenCalledTimes(1);
    const taskFailure = new TypeError('bad');
    await expect(
      kit.withTaskSpan({ taskId: 't' }, () => {
        throw taskFailure;
      }),
    ).rejects.toBe(taskFailure);
    const prepare = vi.fn(() => ({ action: 'a' }));
    const execute = vi.fn(() => 'done');
    await expect(
      kit.withAgentSpans({
        agentId: 'ag',
        action: (p: { action: string }) => p.action,
        prepare,
        execute,
      }),
    ).resolves.toBe('done');
    expect([prepare.mock.calls.length, execute.mock.calls.length]).toEqual([1, 1]);

    expect(() => kit.recordAsyncStarted('task')).not.toThrow();
    // Misuse is still reported: the TypeError is the caller's, not telemetry's.
    expect(() => kit.recordAsyncStarted('job' as never)).toThrow(TypeError);

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^toolcage engine telemetry failed \(.+ is broken\)/);
  });
});

test('a warning handler that throws changes nothing either', async () => {
  const kit = createEngineKit({
    tracerProvider: throwingEverything('tracerProvider'),
    onWarning: () => {
      throw new Error('logger is broken too');
    },
  });
  await expect(kit.withTaskSpan({ taskId: 't' }, () => 'value')).resolves.toBe('value');
});

test('a context manager that throws: the function still runs once, its result comes out', async () => {
  const brokenManager: ContextManager = {
    active: (): Context => ROOT_CONTEXT,
    with: () => {
      throw new Error('with is broken');
    },
    bind: <T>(_context: Context, target: T): T => target,
    enable() {
      return this;
    },
    disable() {
      return this;
    },
  };
  context.setGlobalContextManager(brokenManager);
  const warnings: string[] = [];
  const kit = createEngineKit({ onWarning: (message) => warnings.push(message) });
  const run = vi.fn(() => 'value');
  await expect(kit.withTaskSpan({ taskId: 't' }, run)).resolves.toBe('value');
  expect(run).toHaveBeenCalledTimes(1);
  const failure = new Error('task failed');
  await expect(
    kit.withTaskSpan({ taskId: 't' }, () => {
      throw failure;
    }),
  ).rejects.toBe(failure);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain('with is broken');
});
