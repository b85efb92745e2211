import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { ToolExecutionError } from '../../src/errors/tool-execution-error.js';
import { MetricNames, ToolMetrics } from '../../src/metrics.js';
import { telemetryFromEnv } from '../../src/telemetry/env.js';
import { setupTelemetry, type TelemetryHandle } from '../../src/telemetry/index.js';
import { MetricBuckets } from '../../src/telemetry/names.js';
import { startExecutionSpan } from '../../src/tracing.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { withRuntime } from '../helpers/runtime.js';

const cleanups: (() => Promise<void>)[] = [];

function track(handle: TelemetryHandle): TelemetryHandle {
  cleanups.push(() => handle.shutdown());
  return handle;
}

async function receiver(
  options: Parameters<typeof startOtlpReceiver>[0] = {},
): Promise<OtlpReceiver> {
  const started = await startOtlpReceiver(options);
  cleanups.push(() => started.close());
  return started;
}

// A 127.0.0.1 port nobody listens on: bound, then closed.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// One execution of each outcome, through the library as the runtime calls it.
function recordMix(handle: TelemetryHandle): void {
  const toolMetrics = new ToolMetrics({ meterProvider: handle.meterProvider });
  const options = { tracerProvider: handle.tracerProvider };
  const base = { timeoutMs: 1_000, bunVersion: '1.4.5', permissions: [] };

  startExecutionSpan({ ...base, toolId: 'ok' }, options).succeed({ exitCode: 0, outputBytes: 12 });
  toolMetrics.recordExecution({
    toolId: 'ok',
    outcome: 'success',
    durationMs: 30,
    outputBytes: 12,
    exit: { status: 'exit', code: 0 },
  });

  startExecutionSpan({ ...base, toolId: 'slow' }, options).fail(
    new ToolExecutionError({
      kind: ErrorKind.Timeout,
      toolId: 'slow',
      message: 'Tool `slow` timed out after 1000 ms',
    }),
  );
  toolMetrics.recordExecution({
    toolId: 'slow',
    outcome: 'timeout',
    durationMs: 1_003,
    errorKind: ErrorKind.Timeout,
    exit: { status: 'signal', signal: 'SIGKILL' },
  });
}

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('setupTelemetry with OTLP', () => {
  test('pushes the metrics and the spans on shutdown, decoded by a real receiver', async () => {
    const otlp = await receiver();
    const handle = track(
      await setupTelemetry({
        serviceName: 'otlp-test',
        otlp: { endpoint: otlp.endpoint, headers: { 'x-tenant': 'acme' } },
      }),
    );
    recordMix(handle);
    await handle.shutdown();

    const paths = otlp.requests.map((request) => request.path).sort();
    expect(paths).toEqual(['/v1/metrics', '/v1/traces']);
    for (const request of otlp.requests) {
      expect(request.headers['x-tenant']).toBe('acme');
      expect(request.headers['content-type']).toContain('application/json');
    }

    const duration = otlp.latestMetric(MetricNames.executeSeconds);
    expect(duration).toMatchObject({ type: 'histogram', unit: 's', scope: 'toolcage' });
    expect(duration?.resource['service.name']).toBe('otlp-test');
    const okPoint = duration?.dataPoints.find((p) => p.attributes['tool_id'] === 'ok');
    expect(okPoint).toMatchObject({
      attributes: { tool_id: 'ok', outcome: 'success' },
      count: 1,
      explicitBounds: [...MetricBuckets.executeSeconds],
    });
    expect(okPoint?.sum).toBeCloseTo(0.03);
    expect(okPoint?.bucketCounts).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(
      duration?.dataPoints.find((p) => p.attributes['tool_id'] === 'slow')?.attributes,
    ).toEqual({
      tool_id: 'slow',
      outcome: 'timeout',
    });

    expect(otlp.latestMetric(MetricNames.errors)).toMatchObject({
      type: 'sum',
      isMonotonic: true,
      dataPoints: [{ attributes: { tool_id: 'slow', error_kind: 'timeout' }, value: 1 }],
    });
    expect(otlp.latestMetric(MetricNames.timeouts)?.dataPoints).toEqual([
      { attributes: { tool_id: 'slow' }, value: 1 },
    ]);
    const exits = otlp.latestMetric(MetricNames.processExits)?.dataPoints ?? [];
    expect(exits).toEqual(
      expect.arrayContaining([
        { attributes: { status: 'exit', code: 0 }, value: 1 },
        { attributes: { status: 'signal', signal: 'SIGKILL' }, value: 1 },
      ]),
    );
    expect(exits).toHaveLength(2);
    expect(otlp.latestMetric(MetricNames.outputBytes)).toMatchObject({
      unit: 'By',
      dataPoints: [
        {
          attributes: { tool_id: 'ok' },
          count: 1,
          sum: 12,
          explicitBounds: [...MetricBuckets.outputBytes],
        },
      ],
    });

    const spans = otlp.spans();
    expect(spans.map((span) => span.name)).toEqual([
      'runtime.execute_tool',
      'runtime.execute_tool',
    ]);
    const ok = spans.find((span) => span.attributes['tool_id'] === 'ok');
    expect(ok).toMatchObject({
      scope: 'toolcage',
      status: { code: 0 },
      attributes: {
        timeout_ms: 1000,
        bun_version: '1.4.5',
        permissions: [],
        exit_code: 0,
        output_bytes: 12,
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'ok',
      },
    });
    expect(ok?.resource['service.name']).toBe('otlp-test');
    const slow = spans.find((span) => span.attributes['tool_id'] === 'slow');
    // OTLP status code 2 = ERROR.
    expect(slow).toMatchObject({
      status: { code: 2, message: 'Tool `slow` timed out after 1000 ms' },
      attributes: { error_kind: 'timeout', 'error.type': 'timeout' },
      events: [{ name: 'exception', attributes: { 'exception.type': 'ToolExecutionError' } }],
    });
    expect(handle.exportFailures).toBe(0);
  });

  test('honours the OTEL_* variables (endpoint, per-signal endpoint, headers, service, resource, interval)', async () => {
    const otlp = await receiver();
    const tracesOnly = await receiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', `${otlp.endpoint}/`);
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', `${tracesOnly.endpoint}/v1/traces`);
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'authorization=Bearer%20t0ken,x-a=1');
    vi.stubEnv('OTEL_SERVICE_NAME', 'from-env');
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment=test');
    vi.stubEnv('OTEL_METRIC_EXPORT_INTERVAL', '100');

    const options = telemetryFromEnv();
    expect(options).toBeDefined();
    const handle = track(await setupTelemetry(options));
    recordMix(handle);
    // The periodic reader pushes on its own (100 ms), before any flush.
    await expect
      .poll(() => otlp.latestMetric(MetricNames.timeouts), { timeout: 10_000 })
      .toBeDefined();
    await handle.shutdown();

    const metricRequest = otlp.requests.find((request) => request.path === '/v1/metrics');
    expect(metricRequest?.headers['authorization']).toBe('Bearer t0ken');
    expect(metricRequest?.headers['x-a']).toBe('1');
    expect(otlp.latestMetric(MetricNames.timeouts)?.resource).toMatchObject({
      'service.name': 'from-env',
      'deployment.environment': 'test',
    });
    // Traces went to their own endpoint only.
    expect(otlp.spans()).toEqual([]);
    expect(tracesOnly.spans()).toHaveLength(2);
  });

  test('telemetryFromEnv is undefined without an endpoint variable', () => {
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', '');
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', '');
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '');
    expect(telemetryFromEnv()).toBeUndefined();
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'http://127.0.0.1:4318/v1/metrics');
    expect(telemetryFromEnv()).toEqual({ otlp: {} });
  });

  test('registers the providers, the propagator and a context manager globally, and undoes it on shutdown', async () => {
    const handle = track(await setupTelemetry({ otlp: false }));
    expect(metrics.getMeterProvider()).toBe(handle.meterProvider);
    const tracer = trace.getTracer('test');
    const span = tracer.startSpan('outer');
    expect(span.isRecording()).toBe(true);
    const carrier: Record<string, string> = {};
    context.with(trace.setSpan(context.active(), span), () => {
      propagation.inject(context.active(), carrier);
      // The execution span's traceparent equals what the global propagator writes for it.
      const execution = startExecutionSpan({
        toolId: 't',
        timeoutMs: 1,
        bunVersion: '1',
        permissions: [],
      });
      const injected: Record<string, string> = {};
      const executionContext = propagation.extract(context.active(), {
        traceparent: execution.traceparent,
      });
      propagation.inject(executionContext, injected);
      expect(injected['traceparent']).toBe(execution.traceparent);
      execution.succeed({ exitCode: 0, outputBytes: 0 });
    });
    span.end();
    expect(carrier['traceparent']).toBe(
      `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
    );
    await handle.shutdown();
    await handle.shutdown(); // idempotent
    expect(metrics.getMeterProvider()).not.toBe(handle.meterProvider);
    expect(trace.getTracer('test').startSpan('after').isRecording()).toBe(false);
  });

  test('shutdown bounded by 0 ms resolves; a bound that is not a number ≥ 0 is a TypeError that stops nothing', async () => {
    const handle = track(await setupTelemetry({ otlp: false }));
    for (const timeoutMs of [-1, Number.NaN, '5']) {
      expect(() => handle.shutdown({ timeoutMs: timeoutMs as number })).toThrow(
        /Expected `timeoutMs` to be a non-negative number of milliseconds, got/,
      );
    }
    expect(metrics.getMeterProvider()).toBe(handle.meterProvider);
    // p-timeout alone rejects 0 ms with a TypeError, which broke "never rejects".
    await expect(handle.shutdown({ timeoutMs: 0 })).resolves.toBeUndefined();
    expect(metrics.getMeterProvider()).not.toBe(handle.meterProvider);
  });

  test("a Prometheus endpoint on a free port serves the README's metric names", async () => {
    const handle = track(await setupTelemetry({ otlp: false, prometheus: { port: 0 } }));
    expect(handle.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    recordMix(handle);
    new ToolMetrics({ meterProvider: handle.meterProvider }).recordError(
      'bad',
      ErrorKind.ToolError,
    );
    const text = await (await fetch(handle.prometheusUrl!)).text();
    expect(text).toContain('# TYPE runtime_tool_execute_seconds histogram');
    expect(text).toContain(
      'runtime_tool_execute_seconds_bucket{tool_id="ok",outcome="success",le="0.05"} 1',
    );
    expect(text).toContain(
      'runtime_tool_execute_seconds_count{tool_id="slow",outcome="timeout"} 1',
    );
    expect(text).toContain('# TYPE runtime_tool_errors_total counter');
    expect(text).toContain('runtime_tool_errors_total{tool_id="bad",error_kind="tool_error"} 1');
    expect(text).toContain('runtime_tool_timeouts_total{tool_id="slow"} 1');
    expect(text).toContain('runtime_bun_process_exits_total{status="signal",signal="SIGKILL"} 1');
    expect(text).toContain('runtime_tool_output_bytes_bucket{tool_id="ok",le="100"} 1');
    expect(text).not.toContain('otel_scope_name');
    await handle.shutdown();
    await expect(fetch(handle.prometheusUrl!)).rejects.toThrow();
  });
});

describe('real executions through OTLP (as the CLI does it)', () => {
  test('the span carries the tool id and exit, the tool sees its TRACEPARENT, metrics arrive on shutdown', async () => {
    const otlp = await receiver();
    const handle = track(await setupTelemetry({ otlp: { endpoint: otlp.endpoint } }));
    const options = {
      sandbox: 'none',
      telemetry: true,
      meterProvider: handle.meterProvider,
      tracerProvider: handle.tracerProvider,
    } as const;
    const seen = await withRuntime(options, async (runtime) => {
      const result = await runtime.executeToolWithTimeout({
        toolPath: 'env-reader.ts',
        input: { names: ['TRACEPARENT'] },
      });
      await runtime.executeToolWithTimeout({ toolPath: 'throws.ts' }).catch(() => undefined);
      return (result.output as { seen: Record<string, string | null> }).seen;
    });
    await handle.shutdown();

    const spans = otlp.spans();
    const ok = spans.find((span) => span.attributes['tool_id'] === 'env-reader');
    const failed = spans.find((span) => span.attributes['tool_id'] === 'throws');
    expect(ok).toMatchObject({ name: 'runtime.execute_tool', attributes: { exit_code: 0 } });
    expect(seen['TRACEPARENT']).toBe(`00-${ok?.traceId}-${ok?.spanId}-01`);
    expect(failed).toMatchObject({ status: { code: 2 }, attributes: { error_kind: 'tool_error' } });
    expect(
      otlp.latestMetric(MetricNames.errors)?.dataPoints.map((point) => point.attributes),
    ).toEqual([{ tool_id: 'throws', error_kind: 'tool_error' }]);
    const counts = otlp
      .latestMetric(MetricNames.executeSeconds)
      ?.dataPoints.map((point) => [
        point.attributes['tool_id'],
        point.attributes['outcome'],
        point.count,
      ]);
    expect(counts).toEqual(
      expect.arrayContaining([
        ['env-reader', 'success', 1],
        ['throws', 'error', 1],
      ]),
    );
  });
});

describe('a collector that is down or slow', () => {
  test('dead collector: 200 executions and shutdown finish quickly, with exactly one warning', async () => {
    const port = await closedPort();
    const warnings: string[] = [];
    const handle = track(
      await setupTelemetry({
        otlp: { endpoint: `http://127.0.0.1:${port}`, intervalMs: 50 },
        onWarning: (message) => warnings.push(message),
      }),
    );
    const started = performance.now();
    for (let i = 0; i < 200; i++) recordMix(handle);
    const recording = performance.now() - started;
    // A few periodic exports fail on their own before the shutdown.
    await expect.poll(() => handle.exportFailures, { timeout: 10_000 }).toBeGreaterThan(1);
    const shutdownStarted = performance.now();
    await handle.shutdown();
    const shutdown = performance.now() - shutdownStarted;

    expect(recording).toBeLessThan(1_000);
    // Bounded by the export timeout (3 s default, retries included) plus a margin.
    expect(shutdown).toBeLessThan(5_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /telemetry export of (metrics|traces) to http:\/\/127\.0\.0\.1:\d+\/v1\/\w+ failed \(.*ECONNREFUSED/,
    );
    expect(handle.exportFailures).toBeGreaterThan(1);
  });

  test('the default warning goes through process.emitWarning, once', async () => {
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const port = await closedPort();
    const handle = track(
      await setupTelemetry({ otlp: { endpoint: `http://127.0.0.1:${port}`, timeoutMs: 200 } }),
    );
    recordMix(handle);
    await handle.forceFlush();
    recordMix(handle);
    await handle.shutdown();
    const ours = emitted.mock.calls.filter((call) => (call as unknown[])[1] === 'TelemetryWarning');
    expect(ours).toHaveLength(1);
  });

  test('slow collector: exports are cut at the timeout, executions never wait', async () => {
    const slow = await receiver({ delayMs: 30_000 });
    const warnings: string[] = [];
    const handle = track(
      await setupTelemetry({
        otlp: { endpoint: slow.endpoint, timeoutMs: 500 },
        onWarning: (message) => warnings.push(message),
      }),
    );
    const started = performance.now();
    recordMix(handle);
    expect(performance.now() - started).toBeLessThan(200);
    const shutdownStarted = performance.now();
    await handle.shutdown();
    expect(performance.now() - shutdownStarted).toBeLessThan(3_000);
    expect(slow.requests.length).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('timed out');
  });

  test('per-signal timeout variables reach the exporters (they beat the general one)', async () => {
    const slow = await receiver({ delayMs: 30_000 });
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', slow.endpoint);
    vi.stubEnv('OTEL_EXPORTER_OTLP_TIMEOUT', '20000');
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', '300');
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '300');
    const warnings: string[] = [];
    const handle = track(
      await setupTelemetry({
        ...telemetryFromEnv(),
        onWarning: (message) => warnings.push(message),
      }),
    );
    recordMix(handle);
    const started = performance.now();
    await handle.shutdown();
    // With the general 20 s, the exports would still be waiting.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(slow.requests.map((request) => request.path).sort()).toEqual([
      '/v1/metrics',
      '/v1/traces',
    ]);
    // The exporters gave up themselves (not shutdown's own bound).
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('timed out');
  });

  test('shutdown() is bounded even when a provider never finishes, and still unregisters', async () => {
    const otlp = await receiver();
    const warnings: string[] = [];
    const handle = track(
      await setupTelemetry({
        otlp: { endpoint: otlp.endpoint, timeoutMs: 200 },
        onWarning: (message) => warnings.push(message),
      }),
    );
    // Every part of the real SDK honours its own timeout, so a hang has to be made: the tracer
    // provider's shutdown never settles.
    vi.spyOn(handle.tracerProvider as BasicTracerProvider, 'shutdown').mockReturnValue(
      new Promise<void>(() => {}),
    );
    await handle.shutdown();
    expect(warnings).toEqual([
      'toolcage: telemetry shutdown did not finish within 2200 ms; what was still being exported is dropped',
    ]);
    expect(handle.exportFailures).toBe(1);
    expect(metrics.getMeterProvider()).not.toBe(handle.meterProvider);
  });

  test('a collector answering 500 is an outage too; recovery re-arms the warning', async () => {
    const failing = await receiver({ status: 500 });
    const warnings: string[] = [];
    const handle = track(
      await setupTelemetry({
        otlp: { endpoint: failing.endpoint },
        onWarning: (message) => warnings.push(message),
      }),
    );
    recordMix(handle);
    await handle.forceFlush();
    await handle.forceFlush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('Internal Server Error');
    const failuresOfFirstOutage = handle.exportFailures;
    expect(failuresOfFirstOutage).toBeGreaterThanOrEqual(2);

    failing.setStatus(200);
    recordMix(handle);
    await handle.forceFlush();
    expect(warnings).toHaveLength(1);
    expect(handle.exportFailures).toBe(failuresOfFirstOutage);

    failing.setStatus(500);
    recordMix(handle);
    await handle.forceFlush();
    expect(warnings).toHaveLength(2);
  });
});
