/**
 * The public shapes of the SDK wiring: what {@link setupTelemetry} takes and returns.
 */
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** OTLP/HTTP push settings of {@link TelemetrySetupOptions}. */
export interface OtlpOptions {
  /**
   * Base endpoint; `/v1/metrics` and `/v1/traces` are appended (like `OTEL_EXPORTER_OTLP_ENDPOINT`).
   * @default `OTEL_EXPORTER_OTLP_{METRICS,TRACES}_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`, else no OTLP
   */
  readonly endpoint?: string;
  /** Extra request headers (merged over `OTEL_EXPORTER_OTLP_HEADERS` and the signal's own). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** Metric export interval, ms. @default `OTEL_METRIC_EXPORT_INTERVAL`, else 60000 */
  readonly intervalMs?: number;
  /**
   * Time one export may take, retries included, ms. It bounds how long `shutdown()` waits for a
   * collector that is down.
   * @default `OTEL_EXPORTER_OTLP_{METRICS,TRACES}_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 3000
   */
  readonly timeoutMs?: number;
}

/** Options of {@link setupTelemetry}. All optional. */
export interface TelemetrySetupOptions {
  /** `service.name` of the resource. @default `OTEL_SERVICE_NAME`, else 'toolcage' */
  readonly serviceName?: string;
  /** OTLP/HTTP (JSON) push of metrics and traces; `false` turns it off whatever the environment says. */
  readonly otlp?: OtlpOptions | false;
  /** A Prometheus scrape endpoint; port 0 picks a free port. @default false */
  readonly prometheus?: { readonly port: number; readonly host?: string } | false;
  /**
   * Receives the one warning of an export outage.
   * @default `process.emitWarning(message, 'TelemetryWarning')`
   */
  readonly onWarning?: (message: string) => void;
}

/** The wired SDK, returned by {@link setupTelemetry}. */
export interface TelemetryHandle {
  /** Exports what is pending now (never rejects; failures count as export failures). */
  forceFlush(): Promise<void>;
  /**
   * Flushes, stops the exporters and the Prometheus endpoint, and unregisters the global
   * providers it registered. Idempotent (the first call's bound holds); never rejects; bounded
   * by `timeoutMs`, by default the longest export timeout plus 2 s (what is still pending then
   * is dropped, with a warning; a bound of 0 waits at most 1 ms). A `timeoutMs` that is not a
   * number ≥ 0 throws a TypeError before anything stops. An export cut off by the bound goes on
   * retrying in the background until its own timeout: a process that must end now (the CLI)
   * exits.
   */
  shutdown(bound?: { readonly timeoutMs?: number }): Promise<void>;
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: TracerProvider;
  /** `http://host:port/metrics` when a Prometheus endpoint was asked for. */
  readonly prometheusUrl?: string;
  /** Failed OTLP exports so far (each outage is warned about once; the rest are counted here). */
  readonly exportFailures: number;
}
