/**
 * OpenTelemetry SDK pieces for tests: a pull metric reader (data only when `collect()` is
 * awaited: no timers, no sleeps), an in-memory span exporter, and readers of what they hold.
 */
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'vitest';

/** A pull reader for tests. */
export class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A meter provider with a {@link TestReader}. */
export function testMeterProvider(): { reader: TestReader; meterProvider: MeterProvider } {
  const reader = new TestReader();
  return { reader, meterProvider: new MeterProvider({ readers: [reader] }) };
}

/** A tracer provider exporting every ended span, at once, to memory. */
export function testTracerProvider(): {
  exporter: InMemorySpanExporter;
  tracerProvider: BasicTracerProvider;
} {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { exporter, tracerProvider };
}

/** Collects once; every metric by instrument name, all from the meter `scope`. */
export async function collect(
  reader: MetricReader,
  scope = 'toolcage',
): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const byName = new Map<string, MetricData>();
  for (const scopeMetrics of resourceMetrics.scopeMetrics) {
    expect(scopeMetrics.scope.name).toBe(scope);
    for (const metric of scopeMetrics.metrics) byName.set(metric.descriptor.name, metric);
  }
  return byName;
}

/** The metric `name` of a collection (an error naming the ones there are when it is missing). */
export function metric(all: Map<string, MetricData>, name: string): MetricData {
  const found = all.get(name);
  if (found === undefined)
    throw new Error(`metric ${name} missing; have ${[...all.keys()].join(', ')}`);
  return found;
}

/** Data points as `{attributes, value}` sorted by attributes, for exact comparison. */
export function points(
  data: MetricData,
): { attributes: Record<string, unknown>; value: unknown }[] {
  return (data.dataPoints as DataPoint<unknown>[])
    .map((point) => ({ attributes: { ...point.attributes }, value: point.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

/** The histogram value of the point with exactly these attributes. */
export function histogramPoint(data: MetricData, attributes: Record<string, unknown>): Histogram {
  expect(data.dataPointType).toBe(DataPointType.HISTOGRAM);
  const point = (data.dataPoints as DataPoint<Histogram>[]).find(
    (candidate) => JSON.stringify(candidate.attributes) === JSON.stringify(attributes),
  );
  if (point === undefined) throw new Error(`no point with ${JSON.stringify(attributes)}`);
  return point.value;
}
