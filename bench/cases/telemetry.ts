import {
  MeterProvider,
  PeriodicExportingMetricReader,
  InMemoryMetricExporter,
  AggregationTemporality,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { benchRuntime, ms, trivial, type Row } from '../setup.js';
import { interleave, median, timed } from '../stats.js';

const RUNS = 100;

/**
 * Telemetry on (a real SDK MeterProvider with a periodic reader and a TracerProvider with a batch
 * processor, both into memory) vs `telemetry: false`, same tool, interleaved.
 */
export async function telemetryRows(): Promise<Row[]> {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 1_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(spanExporter)],
  });
  const on = benchRuntime({ telemetry: true, meterProvider, tracerProvider });
  const off = benchRuntime({ telemetry: false });
  try {
    const { a, b } = await interleave(
      RUNS,
      5,
      () => timed(() => trivial(on)),
      () => timed(() => trivial(off)),
    );
    await tracerProvider.forceFlush();
    await reader.forceFlush();
    const spans = spanExporter.getFinishedSpans().length;
    const overhead = median(a) / median(b) - 1;
    return [
      {
        figure: `telemetry on vs off (${spans} spans exported)`,
        measured: ms(median(a)),
        baseline: ms(median(b)),
        value: `${(overhead * 100).toFixed(1)} %`,
        target: '≤ 3 %',
        pass: overhead <= 0.03,
      },
    ];
  } finally {
    await Promise.all([on.close(), off.close()]);
    await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
  }
}
