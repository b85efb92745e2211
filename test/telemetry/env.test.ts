import { describe, expect, test } from 'vitest';
import { resolveOtlp, telemetryFromEnv, unlessSet } from '../../src/telemetry/env.js';

const BASE = 'http://collector:4318';

describe('resolveOtlp', () => {
  test.each([
    {
      name: 'no option, no variable: no OTLP',
      options: undefined,
      env: {},
      metrics: undefined,
      traces: undefined,
    },
    {
      name: 'the base variable gets the signal paths',
      options: undefined,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: BASE },
      metrics: `${BASE}/v1/metrics`,
      traces: `${BASE}/v1/traces`,
    },
    {
      name: 'a trailing slash is not doubled',
      options: {},
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${BASE}/` },
      metrics: `${BASE}/v1/metrics`,
      traces: `${BASE}/v1/traces`,
    },
    {
      name: 'a signal variable is used as is and beats the base variable',
      options: undefined,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: BASE,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:9/custom',
      },
      metrics: 'http://m:9/custom',
      traces: `${BASE}/v1/traces`,
    },
    {
      name: 'only a traces variable: traces only',
      options: undefined,
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/v1/traces' },
      metrics: undefined,
      traces: 'http://t:1/v1/traces',
    },
    {
      name: 'the option beats every variable',
      options: { endpoint: 'http://option:1' },
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: BASE,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/v1/traces',
      },
      metrics: 'http://option:1/v1/metrics',
      traces: 'http://option:1/v1/traces',
    },
    {
      name: 'false turns OTLP off whatever the environment says',
      options: false as const,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: BASE },
      metrics: undefined,
      traces: undefined,
    },
  ])('$name', ({ options, env, metrics, traces }) => {
    const resolved = resolveOtlp(options, env);
    expect(resolved?.metrics?.destination).toBe(metrics);
    expect(resolved?.traces?.destination).toBe(traces);
  });

  test('the exporters get a url and headers only from options (they read the variables themselves)', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: BASE,
      OTEL_EXPORTER_OTLP_HEADERS: 'a=base',
    };
    expect(resolveOtlp({}, env)?.metrics?.exporter).toEqual({ timeoutMillis: 3_000 });
    expect(
      resolveOtlp({ endpoint: 'http://option:1/', headers: { c: 'option' } }, env)?.traces
        ?.exporter,
    ).toEqual({
      url: 'http://option:1/v1/traces',
      headers: { c: 'option' },
      timeoutMillis: 3_000,
    });
  });

  test.each([
    {
      name: 'nothing set: toolcage’s 3 s, passed to the exporter',
      options: {},
      env: {},
      metrics: { timeoutMs: 3_000, timeoutMillis: 3_000 },
      traces: { timeoutMs: 3_000, timeoutMillis: 3_000 },
    },
    {
      name: 'the general variable: read by the exporter, not passed',
      options: {},
      env: { OTEL_EXPORTER_OTLP_TIMEOUT: '800' },
      metrics: { timeoutMs: 800, timeoutMillis: undefined },
      traces: { timeoutMs: 800, timeoutMillis: undefined },
    },
    {
      name: 'a signal’s own variable beats the general one for that signal',
      options: {},
      env: { OTEL_EXPORTER_OTLP_TIMEOUT: '800', OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '200' },
      metrics: { timeoutMs: 200, timeoutMillis: undefined },
      traces: { timeoutMs: 800, timeoutMillis: undefined },
    },
    {
      name: 'the option beats every variable',
      options: { timeoutMs: 50 },
      env: { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '200' },
      metrics: { timeoutMs: 50, timeoutMillis: 50 },
      traces: { timeoutMs: 50, timeoutMillis: 50 },
    },
    {
      name: 'junk is ignored',
      options: {},
      env: { OTEL_EXPORTER_OTLP_TIMEOUT: 'soon', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '-5' },
      metrics: { timeoutMs: 3_000, timeoutMillis: 3_000 },
      traces: { timeoutMs: 3_000, timeoutMillis: 3_000 },
    },
  ])('timeouts: $name', ({ options, env, metrics, traces }) => {
    const resolved = resolveOtlp(options, { OTEL_EXPORTER_OTLP_ENDPOINT: BASE, ...env });
    for (const [signal, expected] of [
      [resolved?.metrics, metrics],
      [resolved?.traces, traces],
    ] as const) {
      expect(signal?.timeoutMs).toBe(expected.timeoutMs);
      expect(signal?.exporter.timeoutMillis).toBe(expected.timeoutMillis);
    }
  });

  test('interval: option, then variable, then default; junk is ignored', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: BASE };
    expect(resolveOtlp({}, env)?.intervalMs).toBe(60_000);
    expect(resolveOtlp({}, { ...env, OTEL_METRIC_EXPORT_INTERVAL: '5000' })?.intervalMs).toBe(
      5_000,
    );
    expect(
      resolveOtlp({ intervalMs: 100 }, { ...env, OTEL_METRIC_EXPORT_INTERVAL: '5000' })?.intervalMs,
    ).toBe(100);
    expect(resolveOtlp({}, { ...env, OTEL_METRIC_EXPORT_INTERVAL: 'soon' })?.intervalMs).toBe(
      60_000,
    );
  });
});

test('unlessSet: toolcage’s value only where the SDK variable is not set', () => {
  expect(unlessSet('OTEL_BSP_MAX_QUEUE_SIZE', 2048, {})).toBe(2048);
  expect(unlessSet('OTEL_BSP_MAX_QUEUE_SIZE', 2048, { OTEL_BSP_MAX_QUEUE_SIZE: ' ' })).toBe(2048);
  expect(
    unlessSet('OTEL_BSP_MAX_QUEUE_SIZE', 2048, { OTEL_BSP_MAX_QUEUE_SIZE: '100' }),
  ).toBeUndefined();
});

test('telemetryFromEnv: OTLP when any endpoint variable is set', () => {
  expect(telemetryFromEnv({})).toBeUndefined();
  expect(telemetryFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBeUndefined();
  expect(telemetryFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t' })).toEqual({
    otlp: {},
  });
});
