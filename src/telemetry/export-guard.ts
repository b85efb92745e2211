/**
 * Wrappers that keep a collector that is down or slow from being noisy: failures are counted,
 * and one warning is given per outage.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Counts export failures and warns once per outage (the first failure after a success or the start). */
export class ExportFailureReporter {
  #failures = 0;
  #failing = false;
  readonly #warn: (message: string) => void;

  constructor(warn: (message: string) => void) {
    this.#warn = warn;
  }

  /** Failed exports so far. */
  get failures(): number {
    return this.#failures;
  }

  succeeded(): void {
    this.#failing = false;
  }

  failed(signal: string, url: string, error: unknown): void {
    this.#failures += 1;
    // The exporter refuses a new export while its earlier ones are still retrying. That is a
    // symptom, not the cause: the in-flight export reports the real error (ECONNREFUSED, a
    // timeout, an HTTP status) when it gives up, and that one is worth the warning.
    if (isConcurrencyLimit(error)) return;
    this.#warnOnce(
      `toolcage: telemetry export of ${signal} to ${url} failed (${describe(error)}); ` +
        'tool executions are unaffected, and further export failures are counted, not logged',
    );
  }

  /** shutdown() gave up on exports still pending after `limitMs`: their data is dropped. */
  shutdownTimedOut(limitMs: number): void {
    this.#failures += 1;
    this.#warnOnce(
      `toolcage: telemetry shutdown did not finish within ${limitMs} ms; ` +
        'what was still being exported is dropped',
    );
  }

  // One warning per outage: the first failure after a success or the start.
  #warnOnce(message: string): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#warn(message);
  }
}

/**
 * The result the SDK gets back is always SUCCESS once the reporter has seen it. Why: on FAILED
 * the SDK can do nothing useful (cumulative metrics are sent again next interval, the batch span
 * processor drops the batch either way) but call the global error handler, which logs every
 * failure through `diag` again.
 */
function report(
  reporter: ExportFailureReporter,
  signal: string,
  url: string,
  done: (result: ExportResult) => void,
): (result: ExportResult) => void {
  return (result) => {
    if (result.code === ExportResultCode.SUCCESS) reporter.succeeded();
    else reporter.failed(signal, url, result.error);
    done({ code: ExportResultCode.SUCCESS });
  };
}

/** A metric exporter whose failures go to `reporter`. */
export function guardMetricExporter(
  exporter: PushMetricExporter,
  reporter: ExportFailureReporter,
  url: string,
): PushMetricExporter {
  const guarded: PushMetricExporter = {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void) {
      exporter.export(metrics, report(reporter, 'metrics', url, done));
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
  };
  // Temporality and aggregation preferences must reach the reader unchanged.
  if (exporter.selectAggregationTemporality !== undefined) {
    guarded.selectAggregationTemporality = exporter.selectAggregationTemporality.bind(exporter);
  }
  if (exporter.selectAggregation !== undefined) {
    guarded.selectAggregation = exporter.selectAggregation.bind(exporter);
  }
  return guarded;
}

/** A span exporter whose failures go to `reporter`. */
export function guardSpanExporter(
  exporter: SpanExporter,
  reporter: ExportFailureReporter,
  url: string,
): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      exporter.export(spans, report(reporter, 'traces', url, done));
    },
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    shutdown: () => exporter.shutdown(),
  };
}

// The exporter's words for it (otlp-exporter-base `OTLPExportDelegate.export`).
function isConcurrencyLimit(error: unknown): boolean {
  return error instanceof Error && error.message === 'Concurrent export limit reached';
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message === '' ? error.name : error.message;
    return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
  }
  if (typeof error === 'string' && error !== '') return error;
  return JSON.stringify(error) ?? 'unknown error';
}
