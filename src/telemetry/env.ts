/**
 * The OTLP settings of a setup. The exporters read the standard `OTEL_EXPORTER_OTLP_*`
 * variables themselves (endpoints, headers, timeouts, compression, certificates, per signal and
 * in general; https://opentelemetry.io/docs/specs/otel/protocol/exporter/); toolcage passes them
 * only what the caller gave as options, and its own defaults where no variable says otherwise.
 * What the exporters do not do is decided here: which signals are exported at all, the metric
 * export interval, and the bounds derived from each signal's export timeout.
 */
import { nonEmpty } from '../errors/expect.js';
import type { OtlpOptions, TelemetrySetupOptions } from './setup-options.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A signal, as the OTLP variables name it. */
export type Signal = 'METRICS' | 'TRACES';

/** What toolcage gives one signal's OTLP exporter; what is left out, the exporter reads from the environment. */
export interface ExporterSettings {
  readonly url?: string;
  readonly headers?: Record<string, string>;
  readonly timeoutMillis?: number;
}

/** One exported signal. */
export interface SignalExport {
  readonly exporter: ExporterSettings;
  /** Where it goes, for messages (the exporter resolves the same from the same settings). */
  readonly destination: string;
  /** How long one export may take, retries included, ms, whoever set it: the bounds around it follow. */
  readonly timeoutMs: number;
}

/** Everything the OTLP wiring needs; a signal is undefined when it has no endpoint. */
export interface ResolvedOtlp {
  readonly metrics: SignalExport | undefined;
  readonly traces: SignalExport | undefined;
  readonly intervalMs: number;
}

const DEFAULT_INTERVAL_MS = 60_000;
/**
 * OpenTelemetry's default is 10 s. toolcage's batches are small, and this is also how long a
 * one-shot CLI run waits at exit when the collector is down (the exporter retries until then).
 */
export const DEFAULT_EXPORT_TIMEOUT_MS = 3_000;

const ENDPOINT = 'OTEL_EXPORTER_OTLP_ENDPOINT';
const PATHS: Record<Signal, string> = { METRICS: 'v1/metrics', TRACES: 'v1/traces' };

/**
 * The setup options the CLI uses: OTLP push when an `OTEL_EXPORTER_OTLP_*ENDPOINT` variable is
 * set (the exporters read the endpoints and the rest from the environment), else undefined (no
 * telemetry).
 */
export function telemetryFromEnv(env: Env = process.env): TelemetrySetupOptions | undefined {
  const set = [
    ENDPOINT,
    signalVariable('METRICS', 'ENDPOINT'),
    signalVariable('TRACES', 'ENDPOINT'),
  ]
    .map((name) => nonEmpty(env[name]))
    .some((value) => value !== undefined);
  return set ? { otlp: {} } : undefined;
}

/** Resolves the OTLP settings; undefined when OTLP is off or no endpoint is known. */
export function resolveOtlp(
  options: OtlpOptions | false | undefined,
  env: Env = process.env,
): ResolvedOtlp | undefined {
  if (options === false) return undefined;
  const opts = options ?? {};
  const metrics = signalExport('METRICS', opts, env);
  const traces = signalExport('TRACES', opts, env);
  if (metrics === undefined && traces === undefined) return undefined;
  return {
    metrics,
    traces,
    intervalMs:
      positive(opts.intervalMs) ??
      positive(Number(env['OTEL_METRIC_EXPORT_INTERVAL'])) ??
      DEFAULT_INTERVAL_MS,
  };
}

function signalExport(signal: Signal, opts: OtlpOptions, env: Env): SignalExport | undefined {
  const endpoint = nonEmpty(opts.endpoint);
  const url = endpoint === undefined ? undefined : appendPath(endpoint, PATHS[signal]);
  // An explicit option beats every variable (the exporter does the same with a given url); a
  // signal's own variable is used as is, the general one gets the signal's path.
  const general = nonEmpty(env[ENDPOINT]);
  const destination =
    url ??
    nonEmpty(env[signalVariable(signal, 'ENDPOINT')]) ??
    (general === undefined ? undefined : appendPath(general, PATHS[signal]));
  if (destination === undefined) return undefined;
  const optionTimeout = positive(opts.timeoutMs);
  const variableTimeout =
    positive(Number(env[signalVariable(signal, 'TIMEOUT')])) ??
    positive(Number(env['OTEL_EXPORTER_OTLP_TIMEOUT']));
  return {
    exporter: {
      ...(url === undefined ? {} : { url }),
      ...(opts.headers === undefined ? {} : { headers: { ...opts.headers } }),
      // Left out when a variable sets it: the exporter reads the signal's own, else the general one.
      ...(variableTimeout !== undefined && optionTimeout === undefined
        ? {}
        : { timeoutMillis: optionTimeout ?? DEFAULT_EXPORT_TIMEOUT_MS }),
    },
    destination,
    timeoutMs: optionTimeout ?? variableTimeout ?? DEFAULT_EXPORT_TIMEOUT_MS,
  };
}

/**
 * `value` unless the SDK variable `name` is set, so that a component reading that variable
 * itself (the batch span processor reads `OTEL_BSP_*`) gets it rather than toolcage's default.
 */
export function unlessSet<T>(name: string, value: T, env: Env = process.env): T | undefined {
  return nonEmpty(env[name]) === undefined ? value : undefined;
}

function signalVariable(signal: Signal, setting: 'ENDPOINT' | 'TIMEOUT'): string {
  return `OTEL_EXPORTER_OTLP_${signal}_${setting}`;
}

function appendPath(base: string, path: string): string {
  return base.endsWith('/') ? `${base}${path}` : `${base}/${path}`;
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}
