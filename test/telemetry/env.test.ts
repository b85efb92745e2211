import { describe, expect, test } from 'vitest';
import { parseHeaders, resolveOtlp, telemetryFromEnv } from '../../src/telemetry/env.js';

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
    expect(resolved?.metrics?.url).toBe(metrics);
    expect(resolved?.traces?.url).toBe(traces);
  });

  test('headers: base variable, then signal variable, then option', () => {
    const resolved = resolveOtlp(
      { headers: { c: 'option' } },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: BASE,
        OTEL_EXPORTER_OTLP_HEADERS: 'a=base,b=base,c=base',
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=metrics',
      },
    );
    expect(resolved?.metrics?.headers).toEqual({ a: 'base', b: 'metrics', c: 'option' });
    expect(resolved?.traces?.headers).toEqual({ a: 'base', b: 'base', c: 'option' });
  });

  test('interval and timeout: option, then variable, then default; junk is ignored', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: BASE };
    expect(resolveOtlp({}, env)).toMatchObject({ intervalMs: 60_000, timeoutMs: 3_000 });
    expect(
      resolveOtlp(
        {},
        { ...env, OTEL_METRIC_EXPORT_INTERVAL: '5000', OTEL_EXPORTER_OTLP_TIMEOUT: '800' },
      ),
    ).toMatchObject({ intervalMs: 5_000, timeoutMs: 800 });
    expect(
      resolveOtlp(
        { intervalMs: 100, timeoutMs: 50 },
        { ...env, OTEL_METRIC_EXPORT_INTERVAL: '5000' },
      ),
    ).toMatchObject({ intervalMs: 100, timeoutMs: 50 });
    expect(resolveOtlp({}, { ...env, OTEL_METRIC_EXPORT_INTERVAL: 'soon' })).toMatchObject({
      intervalMs: 60_000,
    });
  });
});

test('parseHeaders decodes values and skips malformed entries', () => {
  expect(parseHeaders('api-key=a%20b, x = 1 ,=nokey,novalue,bad=%E0%A4%A')).toEqual({
    'api-key': 'a b',
    x: '1',
    bad: '%E0%A4%A',
  });
  expect(parseHeaders(undefined)).toEqual({});
});

test('telemetryFromEnv: OTLP when any endpoint variable is set', () => {
  expect(telemetryFromEnv({})).toBeUndefined();
  expect(telemetryFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBeUndefined();
  expect(telemetryFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t' })).toEqual({
    otlp: {},
  });
});
