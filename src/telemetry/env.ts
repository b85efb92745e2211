/**
 * The OTLP settings of a setup: options first, then the standard `OTEL_*` variables, then
 * defaults. https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */
import type { OtlpOptions, TelemetrySetupOptions } from './options.js';

type Env = Readonly<Record<string, string | undefined>>;

/** One signal's exporter settings. */
export interface SignalExport {
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** Everything the OTLP exporters need; a signal is undefined when it has no endpoint. */
export interface ResolvedOtlp {
  readonly metrics: SignalExport | undefined;
  readonly traces: SignalExport | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

const DEFAULT_INTERVAL_MS = 60_000;
// OpenTelemetry's default is 10 s. toolcage's batches are small, and this is also how long a
// one-shot CLI run waits at exit when the collector is down (the exporter retries until then).
const DEFAULT_TIMEOUT_MS = 3_000;

const ENDPOINT = 'OTEL_EXPORTER_OTLP_ENDPOINT';
const METRICS_ENDPOINT = 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT';
const TRACES_ENDPOINT = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';

/**
 * The setup options the CLI uses: OTLP push when an `OTEL_EXPORTER_OTLP_*ENDPOINT` variable is
 * set (the endpoints and the rest are read from the environment by {@link setupTelemetry}),
 * else undefined (no telemetry).
 */
export function telemetryFromEnv(env: Env = process.env): TelemetrySetupOptions | undefined {
  const set = [ENDPOINT, METRICS_ENDPOINT, TRACES_ENDPOINT].some(
    (name) => (env[name]?.trim() ?? '') !== '',
  );
  return set ? { otlp: {} } : undefined;
}

/** Resolves the OTLP settings; undefined when OTLP is off or no endpoint is known. */
export function resolveOtlp(
  options: OtlpOptions | false | undefined,
  env: Env = process.env,
): ResolvedOtlp | undefined {
  if (options === false) return undefined;
  const opts = options ?? {};
  const base = nonEmpty(opts.endpoint) ?? nonEmpty(env[ENDPOINT]);
  const baseFromOption = nonEmpty(opts.endpoint) !== undefined;
  const signal = (specificVariable: string, path: string, headersVariable: string) => {
    // An explicit option beats every variable; a signal-specific variable is used as is.
    const specific = baseFromOption ? undefined : nonEmpty(env[specificVariable]);
    const url = specific ?? (base === undefined ? undefined : appendPath(base, path));
    if (url === undefined) return undefined;
    return {
      url,
      headers: {
        ...parseHeaders(env['OTEL_EXPORTER_OTLP_HEADERS']),
        ...parseHeaders(env[headersVariable]),
        ...opts.headers,
      },
    };
  };
  const metrics = signal(METRICS_ENDPOINT, 'v1/metrics', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS');
  const traces = signal(TRACES_ENDPOINT, 'v1/traces', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS');
  if (metrics === undefined && traces === undefined) return undefined;
  return {
    metrics,
    traces,
    intervalMs:
      positive(opts.intervalMs) ??
      positive(Number(env['OTEL_METRIC_EXPORT_INTERVAL'])) ??
      DEFAULT_INTERVAL_MS,
    timeoutMs:
      positive(opts.timeoutMs) ??
      positive(Number(env['OTEL_EXPORTER_OTLP_TIMEOUT'])) ??
      DEFAULT_TIMEOUT_MS,
  };
}

/** Parses `key1=value1,key2=value2` (values percent-decoded), skipping malformed entries. */
export function parseHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of (value ?? '').split(',')) {
    const at = entry.indexOf('=');
    if (at <= 0) continue;
    const key = entry.slice(0, at).trim();
    if (key === '') continue;
    headers[key] = decode(entry.slice(at + 1).trim());
  }
  return headers;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function appendPath(base: string, path: string): string {
  return base.endsWith('/') ? `${base}${path}` : `${base}/${path}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}
