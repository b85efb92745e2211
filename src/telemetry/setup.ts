/**
 * SDK wiring for applications and the CLI: OTLP/HTTP push of metrics and traces, an optional
 * Prometheus scrape endpoint, global registration, and a shutdown that flushes. The library
 * itself (metrics.ts, tracing.ts) never touches the SDK.
 */
import { context, metrics, propagation, ProxyTracerProvider, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import pTimeout from 'p-timeout';
import { describeValue } from '../errors/describe-value.js';
import { DEFAULT_EXPORT_TIMEOUT_MS, resolveOtlp, unlessSet, type ResolvedOtlp } from './env.js';
import { ExportFailureReporter, guardMetricExporter, guardSpanExporter } from './export-guard.js';
import type { TelemetryHandle, TelemetrySetupOptions } from './setup-options.js';
import { startPrometheusEndpoint, type PrometheusEndpoint } from './prometheus-endpoint.js';

const DEFAULT_SERVICE_NAME = 'toolcage';
// Bounds on what a slow or dead collector can make us hold: spans waiting (then dropped),
// and requests in flight per exporter. The span processor's are its `OTEL_BSP_*` defaults
// unless those variables are set (it reads them itself); the exporters read none for theirs.
const MAX_QUEUED_SPANS = 2048;
const MAX_SPANS_PER_EXPORT = 512;
const SPAN_EXPORT_DELAY_MS = 1_000;
const MAX_CONCURRENT_EXPORTS = 2;
// What a reader or processor adds to its exporter's own bound, so the exporter's runs out first
// and reports why; and what shutdown() adds to the longest export on top of that.
const EXPORT_MARGIN_MS = 1_000;

/**
 * Wires the OpenTelemetry SDK for toolcage and registers it globally (meter and tracer
 * providers, W3C propagator, an AsyncLocalStorage context manager). A global that is already
 * registered is left alone (the API refuses a second registration); pass
 * `handle.meterProvider`/`handle.tracerProvider` to `createToolRuntime` to be independent of that.
 *
 * A collector that is down or slow never hurts an execution: recording never waits on export,
 * each export (retries included) is bounded by its timeout, the span queue is bounded,
 * `shutdown()` is bounded by the longest export timeout, and an outage gives one warning, not
 * one per export.
 */
export async function setupTelemetry(
  options: TelemetrySetupOptions = {},
): Promise<TelemetryHandle> {
  const reporter = new ExportFailureReporter(options.onWarning ?? defaultWarn);
  const otlp = resolveOtlp(options.otlp);
  const prometheus =
    options.prometheus === undefined || options.prometheus === false
      ? undefined
      : await startPrometheusEndpoint(options.prometheus);

  const resource = buildResource(options.serviceName);
  const meterProvider = new MeterProvider({
    resource,
    readers: metricReaders(otlp, reporter, prometheus),
  });
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: spanProcessors(otlp, reporter),
  });
  const unregister = registerGlobals(meterProvider, tracerProvider);

  const forceFlush = async (): Promise<void> => {
    // Failures are already counted by the reporter; a flush never breaks its caller.
    await Promise.allSettled([meterProvider.forceFlush(), tracerProvider.forceFlush()]);
  };
  let shutdown: Promise<void> | undefined;
  return {
    meterProvider,
    tracerProvider,
    ...(prometheus === undefined ? {} : { prometheusUrl: prometheus.url }),
    get exportFailures() {
      return reporter.failures;
    },
    forceFlush,
    shutdown(bound = {}) {
      checkShutdownBound(bound.timeoutMs);
      shutdown ??= (async () => {
        // Providers' shutdown flushes first (a one-shot CLI run must not lose its data points).
        // Each export is bounded by its own timeout; this bounds the whole, whatever hangs.
        const limit = bound.timeoutMs ?? shutdownLimitMs(otlp);
        try {
          await pTimeout(
            Promise.allSettled([
              prometheus?.close(),
              meterProvider.shutdown(),
              tracerProvider.shutdown(),
            ]),
            // p-timeout refuses 0 ms with a TypeError: a bound of 0 waits 1 ms.
            { milliseconds: Math.max(limit, 1), fallback: () => reporter.shutdownTimedOut(limit) },
          );
        } finally {
          unregister();
        }
      })();
      return shutdown;
    },
  };
}

// shutdown()'s bound, checked before anything stops.
function checkShutdownBound(timeoutMs: unknown): void {
  if (timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs >= 0)) return;
  throw new TypeError(
    `Expected \`timeoutMs\` to be a non-negative number of milliseconds, got ${describeValue(timeoutMs)}`,
  );
}

// service.name: the option, else OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, else 'toolcage'.
function buildResource(serviceName: string | undefined): Resource {
  let resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME }))
    .merge(detectResources({ detectors: [envDetector] }));
  if (serviceName !== undefined) {
    resource = resource.merge(resourceFromAttributes({ 'service.name': serviceName }));
  }
  return resource;
}

function metricReaders(
  otlp: ResolvedOtlp | undefined,
  reporter: ExportFailureReporter,
  prometheus: PrometheusEndpoint | undefined,
): IMetricReader[] {
  const readers: IMetricReader[] = [];
  const signal = otlp?.metrics;
  if (otlp !== undefined && signal !== undefined) {
    const exporter = new OTLPMetricExporter({
      ...signal.exporter,
      concurrencyLimit: MAX_CONCURRENT_EXPORTS,
    });
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: guardMetricExporter(exporter, reporter, signal.destination),
        exportIntervalMillis: otlp.intervalMs,
        // The reader's own bound must leave the exporter its full budget, and may not exceed the interval.
        exportTimeoutMillis: Math.min(signal.timeoutMs + EXPORT_MARGIN_MS, otlp.intervalMs),
      }),
    );
  }
  if (prometheus !== undefined) readers.push(prometheus.reader);
  return readers;
}

function spanProcessors(
  otlp: ResolvedOtlp | undefined,
  reporter: ExportFailureReporter,
): SpanProcessor[] {
  const signal = otlp?.traces;
  if (signal === undefined) return [];
  const exporter = new OTLPTraceExporter({
    ...signal.exporter,
    concurrencyLimit: MAX_CONCURRENT_EXPORTS,
  });
  const config = {
    maxQueueSize: unlessSet('OTEL_BSP_MAX_QUEUE_SIZE', MAX_QUEUED_SPANS),
    maxExportBatchSize: unlessSet('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', MAX_SPANS_PER_EXPORT),
    scheduledDelayMillis: unlessSet('OTEL_BSP_SCHEDULE_DELAY', SPAN_EXPORT_DELAY_MS),
    exportTimeoutMillis: unlessSet('OTEL_BSP_EXPORT_TIMEOUT', signal.timeoutMs + EXPORT_MARGIN_MS),
  };
  return [
    new BatchSpanProcessor(
      guardSpanExporter(exporter, reporter, signal.destination),
      // Only what is set: the processor reads a variable only for a setting it was not given.
      Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)),
    ),
  ];
}

// The bound of shutdown(): the longest export (each flush runs its exports at once), plus margins.
function shutdownLimitMs(otlp: ResolvedOtlp | undefined): number {
  const longest = Math.max(
    otlp?.metrics?.timeoutMs ?? 0,
    otlp?.traces?.timeoutMs ?? 0,
    otlp === undefined ? DEFAULT_EXPORT_TIMEOUT_MS : 0,
  );
  return longest + 2 * EXPORT_MARGIN_MS;
}

// Registers what is not registered yet; returns the undo of exactly that.
function registerGlobals(
  meterProvider: MeterProvider,
  tracerProvider: BasicTracerProvider,
): () => void {
  const undo: (() => void)[] = [];
  // Each undo checks that the global is still ours: someone may have replaced it meanwhile.
  if (metrics.setGlobalMeterProvider(meterProvider)) {
    undo.push(() => {
      if (metrics.getMeterProvider() === meterProvider) metrics.disable();
    });
  }
  if (trace.setGlobalTracerProvider(tracerProvider)) {
    undo.push(() => {
      const global = trace.getTracerProvider();
      if (global instanceof ProxyTracerProvider && global.getDelegate() === tracerProvider) {
        trace.disable();
      }
    });
  }
  const propagator = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
  if (propagation.setGlobalPropagator(propagator)) undo.push(() => propagation.disable());
  if (context.setGlobalContextManager(new AsyncLocalStorageContextManager())) {
    undo.push(() => context.disable());
  }
  return () => {
    for (const step of undo) step();
  };
}

function defaultWarn(message: string): void {
  process.emitWarning(message, 'TelemetryWarning');
}
