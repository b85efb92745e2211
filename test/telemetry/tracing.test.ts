import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  AlwaysOffSampler,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { ToolExecutionError } from '../../src/errors/tool-execution-error.js';
import { createObserver } from '../../src/runtime/observe.js';
import { fixtureRuntime, rejectionOf } from '../helpers/runtime.js';
import { startExecutionSpan, type ExecutionSpanAttributes } from '../../src/tracing.js';

const ATTRIBUTES: ExecutionSpanAttributes = {
  toolId: 'fetch-weather',
  timeoutMs: 2_000,
  bunVersion: '1.4.5',
  permissions: ['--allow-net', '--allow-env=API_BASE'],
};

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

function setup(): { exporter: InMemorySpanExporter; provider: BasicTracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider };
}

function onlySpan(exporter: InMemorySpanExporter): ReadableSpan {
  const spans = exporter.getFinishedSpans();
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

afterEach(() => {
  trace.disable();
  context.disable();
});

describe('startExecutionSpan', () => {
  test('a success ends the span with the exit code and output size, status unset', () => {
    const { exporter, provider } = setup();
    const span = startExecutionSpan(ATTRIBUTES, { tracerProvider: provider });
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    span.succeed({ exitCode: 0, outputBytes: 17 });

    const finished = onlySpan(exporter);
    expect(finished.name).toBe('runtime.execute_tool');
    expect(finished.instrumentationScope.name).toBe('toolcage');
    expect(finished.attributes).toEqual({
      tool_id: 'fetch-weather',
      timeout_ms: 2000,
      bun_version: '1.4.5',
      permissions: ['--allow-net', '--allow-env=API_BASE'],
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'fetch-weather',
      exit_code: 0,
      output_bytes: 17,
      'process.exit.code': 0,
    });
    expect(finished.status.code).toBe(SpanStatusCode.UNSET);
    expect(finished.events).toEqual([]);
    expect(Number.isInteger(finished.attributes['timeout_ms'])).toBe(true);
  });

  test('a failure records the kind, the exception and status ERROR', () => {
    const { exporter, provider } = setup();
    const span = startExecutionSpan(ATTRIBUTES, { tracerProvider: provider });
    const error = new ToolExecutionError({
      kind: ErrorKind.Crashed,
      toolId: 'fetch-weather',
      message: 'Tool `fetch-weather` crashed: exit code 3',
      exitCode: 3,
    });
    span.fail(error);

    const finished = onlySpan(exporter);
    expect(finished.attributes).toMatchObject({
      tool_id: 'fetch-weather',
      error_kind: 'crashed',
      'error.type': 'crashed',
      'process.exit.code': 3,
    });
    expect(finished.attributes).not.toHaveProperty('exit_code');
    expect(finished.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'Tool `fetch-weather` crashed: exit code 3',
    });
    const [event] = finished.events;
    expect(event?.name).toBe('exception');
    expect(event?.attributes).toMatchObject({
      'exception.type': 'ToolExecutionError',
      'exception.message': 'Tool `fetch-weather` crashed: exit code 3',
    });
  });

  test('a failure without a process has no exit code; the span ends once whatever is called', () => {
    const { exporter, provider } = setup();
    const span = startExecutionSpan(ATTRIBUTES, { tracerProvider: provider });
    span.fail(
      new ToolExecutionError({ kind: ErrorKind.Timeout, toolId: 'x', message: 'timed out' }),
    );
    span.fail(new ToolExecutionError({ kind: ErrorKind.Internal, toolId: 'x', message: 'again' }));
    span.succeed({ exitCode: 0, outputBytes: 1 });
    const finished = onlySpan(exporter);
    expect(finished.attributes['error_kind']).toBe('timeout');
    expect(finished.attributes).not.toHaveProperty('process.exit.code');
  });

  test('traceparent is the W3C header of this span', () => {
    const { exporter, provider } = setup();
    const span = startExecutionSpan(ATTRIBUTES, { tracerProvider: provider });
    span.succeed({ exitCode: 0, outputBytes: 0 });
    const finished = onlySpan(exporter);
    const { traceId, spanId } = finished.spanContext();
    expect(span.traceparent).toMatch(TRACEPARENT);
    expect(span.traceparent).toBe(`00-${traceId}-${spanId}-01`);
  });

  test('the span is a child of the active span of the caller', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager());
    const { exporter, provider } = setup();
    const tracer = provider.getTracer('engine');
    await tracer.startActiveSpan('workflow.step', async (parent) => {
      await Promise.resolve();
      const span = startExecutionSpan(ATTRIBUTES, { tracerProvider: provider });
      span.succeed({ exitCode: 0, outputBytes: 0 });
      parent.end();
    });
    const spans = exporter.getFinishedSpans();
    const child = spans.find((s) => s.name === 'runtime.execute_tool');
    const parent = spans.find((s) => s.name === 'workflow.step');
    expect(child?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(child?.spanContext().traceId).toBe(parent?.spanContext().traceId);
  });

  test("an execution's span, started once its process launches, still covers it from the call, under the caller's span", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager());
    const { exporter, provider } = setup();
    const observer = createObserver({
      enabled: true,
      meterProvider: undefined,
      tracerProvider: provider,
    });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const tracer = provider.getTracer('engine');
    const observed = tracer.startActiveSpan('workflow.step', (parent) => {
      const execution = observer.start(ATTRIBUTES);
      parent.end();
      return execution;
    });
    const calledAt = performance.timeOrigin + performance.now();
    expect(exporter.getFinishedSpans()).toHaveLength(1); // only the caller's, so far
    await sleep(40);
    // Read outside the caller's context: the span still takes the one of the call.
    expect(observed.traceparent).toMatch(TRACEPARENT);
    await sleep(20);
    observed.succeed({
      durationMs: 60,
      exit: { code: 0, signal: null },
      outputBytes: 2,
      exitCode: 0,
    });
    const endedAt = performance.timeOrigin + performance.now();
    const spans = exporter.getFinishedSpans();
    const child = spans.find((span) => span.name === 'runtime.execute_tool')!;
    const parent = spans.find((span) => span.name === 'workflow.step')!;
    expect(child.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    const startMs = hrTimeToMilliseconds(child.startTime);
    const durationMs = hrTimeToMilliseconds(child.duration);
    // From the call (before the first sleep) to succeed(), on one clock.
    expect(startMs).toBeLessThanOrEqual(calledAt + 1);
    expect(durationMs).toBeGreaterThanOrEqual(59);
    expect(startMs + durationMs).toBeLessThanOrEqual(endedAt + 1);
  });

  test('the global tracer provider is used by default', () => {
    const { exporter, provider } = setup();
    trace.setGlobalTracerProvider(provider);
    startExecutionSpan(ATTRIBUTES).succeed({ exitCode: 0, outputBytes: 0 });
    expect(onlySpan(exporter).name).toBe('runtime.execute_tool');
  });

  test('no traceparent when nothing records; a parent of the caller is not handed on as ours', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager());
    // No provider registered: the API's no-op tracer.
    expect(startExecutionSpan(ATTRIBUTES).traceparent).toBeUndefined();
    const { provider } = setup();
    const parent = provider.getTracer('engine').startSpan('engine');
    context.with(trace.setSpan(context.active(), parent), () => {
      expect(startExecutionSpan(ATTRIBUTES).traceparent).toBeUndefined();
    });
    parent.end();
  });

  test('a sampled-out span still hands on its context, with the sampled flag off', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const span = startExecutionSpan(ATTRIBUTES, { tracerProvider: provider });
    expect(span.traceparent).toMatch(/-00$/);
    span.succeed({ exitCode: 0, outputBytes: 0 });
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('a request refused before it runs', () => {
  test.each([
    ['an unregistered tool id', { toolId: 'nope' }, ErrorKind.ToolNotFound, '(rejected)'],
    ['input that is not JSON', { toolId: 'ok', input: { n: 1n } }, ErrorKind.InvalidRequest, 'ok'],
    [
      'a path outside the roots',
      { toolPath: '../../etc/passwd' },
      ErrorKind.InvalidRequest,
      '(rejected)',
    ],
  ] as const)(
    '%s: a failed span under the caller’s, with the kind and status ERROR',
    async (_, request, kind, toolId) => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager());
      const { exporter, provider } = setup();
      const runtime = fixtureRuntime({
        telemetry: true,
        tracerProvider: provider,
        tools: { ok: { path: 'ok-sync.ts' } },
      });
      try {
        const error = await provider
          .getTracer('engine')
          .startActiveSpan('agent.step', async (parent) => {
            try {
              return await rejectionOf(runtime.executeToolWithTimeout(request));
            } finally {
              parent.end();
            }
          });
        expect(error['kind']).toBe(kind);
        const spans = exporter.getFinishedSpans();
        const refused = spans.find((span) => span.name === 'runtime.execute_tool');
        const parent = spans.find((span) => span.name === 'agent.step')!;
        expect(refused, 'a span for the refused call').toBeDefined();
        expect(refused!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
        expect(refused!.status).toEqual({ code: SpanStatusCode.ERROR, message: error['message'] });
        expect(refused!.attributes).toMatchObject({
          tool_id: toolId,
          error_kind: kind,
          'error.type': kind,
          'gen_ai.operation.name': 'execute_tool',
        });
        expect(refused!.attributes).not.toHaveProperty('timeout_ms');
        expect(refused!.events.map((event) => event.name)).toEqual(['exception']);
      } finally {
        await runtime.close();
      }
    },
  );
});
