/**
 * The span helpers (executeWorkflowSync, withTaskSpan, withAgentSpans) and recordAsyncStarted:
 * span names, tracer names, attributes, parentage, on success and on failure, read from an
 * in-memory exporter; and the top-level functions, which record to the global providers.
 */
import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { ToolExecutionError } from '../../src/errors/tool-execution-error.js';
import {
  createEngineKit,
  EngineMetricNames,
  recordAsyncStarted,
  withTaskSpan,
  WorkflowWaitError,
  type PollResult,
} from '../../src/engine/index.js';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { rejection, testKit } from '../helpers/engine.js';
import { collect, metric, points, testMeterProvider, testTracerProvider } from '../helpers/otel.js';

// Spans by name (each name once).
function spansByName(exporter: InMemorySpanExporter): Record<string, ReadableSpan> {
  const spans = exporter.getFinishedSpans();
  const byName = Object.fromEntries(spans.map((span) => [span.name, span]));
  expect(Object.keys(byName)).toHaveLength(spans.length);
  return byName;
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
const eventNames = (span: ReadableSpan): string[] => span.events.map((event) => event.name);

const FAST = { initialDelayMs: 1, maxDelayMs: 2 };
const one = (): number => 1;

beforeEach(() => {
  // A context manager, as an application with an SDK has: spans started inside the helpers'
  // functions become children of the helpers' spans.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
});

afterEach(() => {
  context.disable();
  trace.disable();
  metrics.disable();
});

describe('executeWorkflowSync', () => {
  test('success: workflow.execute_sync around start and the wait; exec_id read from what start returned', async () => {
    const { kit, reader, exporter } = testKit();
    const startSignals: AbortSignal[] = [];
    const seen: unknown[] = [];
    const value = await kit.executeWorkflowSync({
      workflowId: 'order-fulfilment',
      timeoutMs: 30_000,
      execId: (started: { execId: string }) => started.execId,
      start: ({ signal }) => {
        startSignals.push(signal);
        return Promise.resolve({ execId: 'exec-7f3a' });
      },
      poll: (attempt, { started, signal }): PollResult<string> => {
        seen.push([attempt, started, signal.aborted]);
        return attempt < 3
          ? { done: false, state: 'RUNNING' }
          : { done: true, state: 'COMPLETED', value: 'shipped' };
      },
      backoff: FAST,
    });
    expect(value).toBe('shipped');
    expect(seen).toEqual([
      [1, { execId: 'exec-7f3a' }, false],
      [2, { execId: 'exec-7f3a' }, false],
      [3, { execId: 'exec-7f3a' }, false],
    ]);
    // start's signal is released once it returned.
    expect(startSignals[0]!.aborted).toBe(true);

    const spans = spansByName(exporter);
    const execute = spans['workflow.execute_sync']!;
    const wait = spans['workflow.wait_completion']!;
    expect(execute.instrumentationScope.name).toBe('compozy.workflow');
    expect(wait.instrumentationScope.name).toBe('compozy.workflow');
    expect(execute.attributes).toEqual({
      workflow_id: 'order-fulfilment',
      timeout_ms: 30_000,
      exec_id: 'exec-7f3a',
    });
    expect(execute.status.code).toBe(SpanStatusCode.UNSET);
    expect(parentOf(wait)).toBe(idOf(execute));
    expect(wait.attributes).toMatchObject({ total_iterations: 3, outcome: 'completed' });
    // The wait got what was left of the deadline.
    expect(wait.attributes['timeout_ms']).toBeLessThanOrEqual(30_000);
    expect(wait.attributes['timeout_ms']).toBeGreaterThan(29_000);
    expect(eventNames(wait)).toEqual(['poll_iteration', 'poll_iteration', 'poll_iteration']);

    const all = await collect(reader);
    expect(points(metric(all, EngineMetricNames.workflowSyncPolls))).toEqual([
      { attributes: { workflow_id: 'order-fulfilment', outcome: 'completed' }, value: 3 },
    ]);
  });

  test('a wait that times out: WorkflowWaitError timeout, both spans ERROR with the exception', async () => {
    const { kit, reader, exporter } = testKit();
    const error = await rejection(
      kit.executeWorkflowSync({
        workflowId: 'slow-flow',
        execId: 'exec-1',
        timeoutMs: 60,
        start: () => 'handle',
        poll: () => ({ done: false, state: 'RUNNING' }),
        backoff: FAST,
      }),
    );
    expect(error).toBeInstanceOf(WorkflowWaitError);
    expect((error as WorkflowWaitError).reason).toBe('timeout');
    // The message names the call's timeout, not the part of it left for the wait.
    expect((error as WorkflowWaitError).message).toMatch(
      /^Workflow `slow-flow` did not complete within 60 ms \(\d+ polls?, last state `RUNNING`\)$/,
    );
    const spans = spansByName(exporter);
    for (const name of ['workflow.execute_sync', 'workflow.wait_completion']) {
      const span = spans[name]!;
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error_type']).toBe('timeout');
      expect(eventNames(span)).toContain('exception');
    }
    expect(spans['workflow.execute_sync']!.attributes['exec_id']).toBe('exec-1');
    const all = await collect(reader);
    const [timedOut] = points(metric(all, EngineMetricNames.workflowSyncPolls));
    expect(timedOut!.attributes).toEqual({ workflow_id: 'slow-flow', outcome: 'timeout' });
    expect(timedOut!.value).toBeGreaterThanOrEqual(1);
  });

  test("start's own error is rethrown as is; no wait, no poll, no wait metrics", async () => {
    const { kit, reader, exporter } = testKit();
    const failure = new RangeError('no such workflow definition');
    const poll = vi.fn((): PollResult<never> => ({ done: false, state: 'RUNNING' }));
    const error = await rejection(
      kit.executeWorkflowSync({
        workflowId: 'missing',
        timeoutMs: 1_000,
        start: () => Promise.reject(failure),
        poll,
      }),
    );
    expect(error).toBe(failure);
    expect(poll).not.toHaveBeenCalled();
    const spans = spansByName(exporter);
    expect(Object.keys(spans)).toEqual(['workflow.execute_sync']);
    expect(spans['workflow.execute_sync']!.attributes['error_type']).toBe('RangeError');
    expect(spans['workflow.execute_sync']!.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'no such workflow definition',
    });
    expect((await collect(reader)).get(EngineMetricNames.workflowSyncPolls)).toBeUndefined();
  });

  test('a start that outlives the deadline: timeout with 0 polls, its signal fired', async () => {
    const { kit, exporter } = testKit();
    let startSignal: AbortSignal | undefined;
    const error = await rejection(
      kit.executeWorkflowSync({
        workflowId: 'stuck-start',
        timeoutMs: 30,
        start: ({ signal }) => {
          startSignal = signal;
          return new Promise(() => {});
        },
        poll: () => ({ done: true, state: 'COMPLETED', value: 1 }),
      }),
    );
    expect(error).toMatchObject({
      reason: 'timeout',
      attempts: 0,
      message: 'Workflow `stuck-start` did not start within 30 ms (0 polls)',
    });
    expect(startSignal?.aborted).toBe(true);
    expect(Object.keys(spansByName(exporter))).toEqual(['workflow.execute_sync']);
  });

  test('the caller aborting during start or during the wait: reason aborted, its reason as cause', async () => {
    const { kit } = testKit();
    const during = new AbortController();
    const duringStart = kit.executeWorkflowSync({
      workflowId: 'wf',
      timeoutMs: 10_000,
      signal: during.signal,
      start: () => new Promise(() => {}),
      poll: () => ({ done: true, state: 'COMPLETED', value: 1 }),
    });
    during.abort('user cancelled');
    expect(await rejection(duringStart)).toMatchObject({
      reason: 'aborted',
      attempts: 0,
      cause: 'user cancelled',
    });

    const later = new AbortController();
    const duringWait = kit.executeWorkflowSync({
      workflowId: 'wf',
      timeoutMs: 10_000,
      signal: later.signal,
      start: () => 'handle',
      poll: (attempt) => {
        if (attempt === 2) later.abort('user cancelled');
        return { done: false, state: 'RUNNING' };
      },
      backoff: FAST,
    });
    expect(await rejection(duringWait)).toMatchObject({
      reason: 'aborted',
      attempts: 2,
      cause: 'user cancelled',
    });
  });

  test('a categoriser of the caller names the error type', async () => {
    const { kit, exporter } = testKit();
    await rejection(
      kit.executeWorkflowSync({
        workflowId: 'wf',
        timeoutMs: 1_000,
        start: () => {
          throw new Error('quota');
        },
        poll: () => ({ done: true, state: 'COMPLETED', value: 1 }),
        categorize: () => 'quota_exceeded',
      }),
    );
    expect(spansByName(exporter)['workflow.execute_sync']!.attributes['error_type']).toBe(
      'quota_exceeded',
    );
  });

  test.each<[object, string]>([
    [
      { timeoutMs: 1_000 },
      'Expected `workflowId` to be a non-empty string, got `undefined` (undefined)',
    ],
    [{ workflowId: 'wf' }, 'Expected `start` to be a function, got `undefined` (undefined)'],
    [
      { workflowId: 'wf', start: one },
      'Expected `timeoutMs` to be a positive integer, got `undefined` (undefined)',
    ],
    [
      { workflowId: 'wf', start: one, timeoutMs: 10 },
      'Expected `poll` to be a function, got `undefined` (undefined)',
    ],
    [
      { workflowId: 'wf', start: one, poll: one, timeoutMs: 10, execId: 5 },
      'Expected `execId` to be a string or a function, got `5` (number)',
    ],
    [
      {
        workflowId: 'wf',
        start: one,
        poll: one,
        timeoutMs: 10,
        backoff: { maxDelayMs: 0 },
      },
      'Expected `backoff.maxDelayMs` to be a positive integer, got `0` (number)',
    ],
  ])('option error: %o', (options, message) => {
    const { kit, exporter } = testKit();
    expect(() => kit.executeWorkflowSync(options as never)).toThrow(new TypeError(message));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('withTaskSpan', () => {
  test('success: task.execute_sync with task_id, component, timeout_ms; the value passes through', async () => {
    const { kit, exporter } = testKit();
    const { tracerProvider } = testTracerProvider();
    let innerParent: string | undefined;
    const value = await kit.withTaskSpan(
      { taskId: 'summarise', component: 'tool', timeoutMs: 2_000 },
      () => {
        // Work inside the task (a tool run, say) is a child of the task's span.
        const inner = tracerProvider.getTracer('inner').startSpan('inner');
        innerParent = (inner as unknown as ReadableSpan).parentSpanContext?.spanId;
        inner.end();
        return { words: 12 };
      },
    );
    expect(value).toEqual({ words: 12 });
    const span = spansByName(exporter)['task.execute_sync']!;
    expect(span.instrumentationScope.name).toBe('compozy.task');
    expect(span.attributes).toEqual({ task_id: 'summarise', component: 'tool', timeout_ms: 2_000 });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events).toEqual([]);
    expect(innerParent).toBe(idOf(span));
  });

  test("failure: the same error rethrown; exception, status ERROR, error_type the tool's kind", async () => {
    const { kit, exporter } = testKit();
    const failure = new ToolExecutionError({
      kind: ErrorKind.Timeout,
      toolId: 'summarise',
      message: 'Tool `summarise` timed out after 2000 ms',
    });
    const error = await rejection(
      kit.withTaskSpan({ taskId: 'summarise' }, () => Promise.reject(failure)),
    );
    expect(error).toBe(failure);
    const span = spansByName(exporter)['task.execute_sync']!;
    expect(span.attributes).toEqual({ task_id: 'summarise', error_type: 'timeout' });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: failure.message });
    expect(span.events.map((event) => [event.name, event.attributes?.['exception.type']])).toEqual([
      ['exception', 'ToolExecutionError'],
    ]);
  });

  test('a synchronous throw is a rejection of the same error; a categoriser names its type', async () => {
    const { kit, exporter } = testKit();
    const failure = new Error('validation failed');
    const error = await rejection(
      kit.withTaskSpan({ taskId: 'validate', categorize: () => 'validation' }, () => {
        throw failure;
      }),
    );
    expect(error).toBe(failure);
    expect(spansByName(exporter)['task.execute_sync']!.attributes['error_type']).toBe('validation');
  });

  test('a categoriser that throws: the default one is used, one warning, the error unchanged', async () => {
    const { kit, exporter, warnings } = testKit();
    const failure = new TypeError('bad input');
    const broken = (): string => {
      throw new Error('categoriser bug');
    };
    for (let i = 0; i < 2; i++) {
      expect(
        await rejection(
          kit.withTaskSpan({ taskId: 't', categorize: broken }, () => Promise.reject(failure)),
        ),
      ).toBe(failure);
    }
    for (const span of exporter.getFinishedSpans()) {
      expect(span.attributes['error_type']).toBe('TypeError');
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('categoriser bug');
  });

  test.each([
    [{}, 'Expected `taskId` to be a non-empty string, got `undefined` (undefined)'],
    [{ taskId: 't', component: 3 }, 'Expected `component` to be a string, got `3` (number)'],
    [
      { taskId: 't', timeoutMs: 0 },
      'Expected `timeoutMs` to be a positive integer, got `0` (number)',
    ],
  ])('option error: %o', (options, message) => {
    const { kit } = testKit();
    expect(() => kit.withTaskSpan(options as never, () => 1)).toThrow(new TypeError(message));
  });
});

describe('withAgentSpans', () => {
  test('success: agent.prepare then agent.execute_sync, siblings, with agent_id and the action', async () => {
    const { kit, exporter } = testKit();
    const { tracerProvider } = testTracerProvider();
    const parent = tracerProvider.getTracer('http').startSpan('POST /agents/:id/sync');
    const result = await context.with(trace.setSpan(context.active(), parent), () =>
      kit.withAgentSpans({
        agentId: 'researcher',
        action: (config: { action: string }) => config.action,
        prepare: () => Promise.resolve({ action: 'summarise', model: 'small' }),
        execute: (config) => `ran ${config.action} on ${config.model}`,
      }),
    );
    parent.end();
    expect(result).toBe('ran summarise on small');
    const spans = spansByName(exporter);
    const prepare = spans['agent.prepare']!;
    const execute = spans['agent.execute_sync']!;
    for (const span of [prepare, execute]) {
      expect(span.instrumentationScope.name).toBe('compozy.agent');
      expect(span.attributes).toEqual({ agent_id: 'researcher', action: 'summarise' });
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(parentOf(span)).toBe(parent.spanContext().spanId);
    }
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([
      'agent.prepare',
      'agent.execute_sync',
    ]);
  });

  test('a failing prepare: its span ERROR, no execution', async () => {
    const { kit, exporter } = testKit();
    const execute = vi.fn();
    const failure = new Error('agent config not found');
    const error = await rejection(
      kit.withAgentSpans({
        agentId: 'ghost',
        action: 'answer',
        prepare: () => Promise.reject(failure),
        execute,
      }),
    );
    expect(error).toBe(failure);
    expect(execute).not.toHaveBeenCalled();
    const spans = spansByName(exporter);
    expect(Object.keys(spans)).toEqual(['agent.prepare']);
    expect(spans['agent.prepare']!.attributes).toEqual({
      agent_id: 'ghost',
      action: 'answer',
      error_type: 'Error',
    });
    expect(spans['agent.prepare']!.status.code).toBe(SpanStatusCode.ERROR);
  });

  test('a failing execution: agent.execute_sync ERROR with the exception, prepare fine', async () => {
    const { kit, exporter } = testKit();
    const failure = new ToolExecutionError({
      kind: ErrorKind.PermissionDenied,
      toolId: 'web-fetch',
      message: 'denied',
    });
    const error = await rejection(
      kit.withAgentSpans({
        agentId: 'researcher',
        action: 'browse',
        prepare: () => ({}),
        execute: () => {
          throw failure;
        },
      }),
    );
    expect(error).toBe(failure);
    const spans = spansByName(exporter);
    expect(spans['agent.prepare']!.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans['agent.execute_sync']!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans['agent.execute_sync']!.attributes['error_type']).toBe('permission_denied');
    expect(eventNames(spans['agent.execute_sync']!)).toEqual(['exception']);
  });

  test('option errors', () => {
    const { kit } = testKit();
    const ok = { agentId: 'a', prepare: () => 1, execute: () => 2 };
    expect(() => kit.withAgentSpans({ ...ok, agentId: '' })).toThrow(
      new TypeError('Expected `agentId` to be a non-empty string, got `` (string)'),
    );
    expect(() => kit.withAgentSpans({ ...ok, action: 4 as never })).toThrow(
      new TypeError('Expected `action` to be a string or a function, got `4` (number)'),
    );
    expect(() => kit.withAgentSpans({ ...ok, execute: undefined as never })).toThrow(
      new TypeError('Expected `execute` to be a function, got `undefined` (undefined)'),
    );
  });
});

describe('recordAsyncStarted', () => {
  test('http_exec_started_total counts accepted starts by kind', async () => {
    const { kit, reader } = testKit();
    kit.recordAsyncStarted('task');
    kit.recordAsyncStarted('task');
    kit.recordAsyncStarted('agent');
    kit.recordAsyncStarted('workflow');
    const all = await collect(reader);
    expect(points(metric(all, EngineMetricNames.httpExecStarted))).toEqual([
      { attributes: { kind: 'agent' }, value: 1 },
      { attributes: { kind: 'task' }, value: 2 },
      { attributes: { kind: 'workflow' }, value: 1 },
    ]);
  });

  test.each([['tool'], ['Task'], [undefined], [1]])('kind %o is a TypeError', (kind) => {
    const { kit } = testKit();
    expect(() => kit.recordAsyncStarted(kind as never)).toThrow(
      new TypeError(
        `Expected \`kind\` to be one of 'task', 'agent', 'workflow', got \`${String(kind)}\` (${typeof kind})`,
      ),
    );
  });
});

describe('the top-level functions (default kit, global providers)', () => {
  test('record to providers registered after the module was loaded and first used', async () => {
    // Used before any SDK: recorded into the no-op providers, harmlessly.
    recordAsyncStarted('workflow');
    const { reader, meterProvider } = testMeterProvider();
    const { exporter, tracerProvider } = testTracerProvider();
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);

    recordAsyncStarted('task');
    await withTaskSpan({ taskId: 'late' }, () => 1);
    expect(points(metric(await collect(reader), EngineMetricNames.httpExecStarted))).toEqual([
      { attributes: { kind: 'task' }, value: 1 },
    ]);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['task.execute_sync']);
  });

  test('createEngineKit option errors', () => {
    expect(() => createEngineKit({ workflowIdLabel: 'no' as never })).toThrow(
      new TypeError('Expected `workflowIdLabel` to be a boolean, got `no` (string)'),
    );
    expect(() => createEngineKit({ onWarning: 1 as never })).toThrow(
      new TypeError('Expected `onWarning` to be a function, got `1` (number)'),
    );
    expect(() => createEngineKit({ meterProvider: 'x' as never })).toThrow(
      new TypeError('Expected `meterProvider` to be an object, got `x` (string)'),
    );
  });
});
