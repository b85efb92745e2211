import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, test } from 'vitest';
import { ERROR_KINDS, ErrorKind } from '../../src/errors/kinds.js';
import { MetricNames, ToolMetrics, type Outcome } from '../../src/metrics.js';
import { MetricBuckets } from '../../src/telemetry/names.js';
import { collect, histogramPoint, metric, points, TestReader } from '../helpers/otel.js';

function setup(): { reader: TestReader; provider: MeterProvider; tool: ToolMetrics } {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider, tool: new ToolMetrics({ meterProvider: provider }) };
}

afterEach(() => {
  metrics.disable();
});

describe('ToolMetrics', () => {
  test('a success records the duration in seconds, the output size and the exit', async () => {
    const { reader, tool } = setup();
    tool.recordExecution({
      toolId: 'echo',
      outcome: 'success',
      durationMs: 42,
      outputBytes: 2_000,
      exit: { status: 'exit', code: 0 },
    });
    const all = await collect(reader);

    const duration = metric(all, MetricNames.executeSeconds);
    expect(duration.descriptor.unit).toBe('s');
    const seconds = histogramPoint(duration, { tool_id: 'echo', outcome: 'success' });
    expect(seconds.count).toBe(1);
    expect(seconds.sum).toBeCloseTo(0.042);
    expect(seconds.buckets.boundaries).toEqual(MetricBuckets.executeSeconds);
    // 0.042 s falls in (0.025, 0.05]: the fourth bucket.
    expect(seconds.buckets.counts).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    const output = metric(all, MetricNames.outputBytes);
    expect(output.descriptor.unit).toBe('By');
    const bytes = histogramPoint(output, { tool_id: 'echo' });
    expect(bytes.buckets.boundaries).toEqual(MetricBuckets.outputBytes);
    expect(bytes.buckets.counts).toEqual([0, 0, 1, 0, 0, 0, 0]);

    expect(points(metric(all, MetricNames.processExits))).toEqual([
      { attributes: { status: 'exit', code: 0 }, value: 1 },
    ]);
    // Nothing failed: the failure counters have no data points.
    expect(all.get(MetricNames.errors)?.dataPoints ?? []).toEqual([]);
    expect(all.get(MetricNames.timeouts)?.dataPoints ?? []).toEqual([]);
  });

  test('a timeout counts as a timeout and as an error of kind timeout, with the kill signal', async () => {
    const { reader, tool } = setup();
    tool.recordExecution({
      toolId: 'slow',
      outcome: 'timeout',
      durationMs: 2_000,
      outputBytes: 0,
      errorKind: ErrorKind.Timeout,
      exit: { status: 'signal', signal: 'SIGKILL' },
    });
    const all = await collect(reader);
    const seconds = histogramPoint(metric(all, MetricNames.executeSeconds), {
      tool_id: 'slow',
      outcome: 'timeout',
    });
    expect(seconds.buckets.counts).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(points(metric(all, MetricNames.timeouts))).toEqual([
      { attributes: { tool_id: 'slow' }, value: 1 },
    ]);
    expect(points(metric(all, MetricNames.errors))).toEqual([
      { attributes: { tool_id: 'slow', error_kind: 'timeout' }, value: 1 },
    ]);
    expect(points(metric(all, MetricNames.processExits))).toEqual([
      { attributes: { status: 'signal', signal: 'SIGKILL' }, value: 1 },
    ]);
    // A failure's 0 output bytes are not a result size.
    expect(all.get(MetricNames.outputBytes)?.dataPoints ?? []).toEqual([]);
  });

  test.each(ERROR_KINDS.filter((kind) => kind !== ErrorKind.Timeout))(
    'an error of kind %s is counted under that kind',
    async (kind) => {
      const { reader, tool } = setup();
      tool.recordExecution({
        toolId: 'tool',
        outcome: 'error',
        durationMs: 7,
        errorKind: kind,
        exit: { status: 'exit', code: 1 },
      });
      const all = await collect(reader);
      expect(points(metric(all, MetricNames.errors))).toEqual([
        { attributes: { tool_id: 'tool', error_kind: kind }, value: 1 },
      ]);
      expect(all.get(MetricNames.timeouts)?.dataPoints ?? []).toEqual([]);
      expect(
        histogramPoint(metric(all, MetricNames.executeSeconds), {
          tool_id: 'tool',
          outcome: 'error',
        }).count,
      ).toBe(1);
    },
  );

  test('every outcome is its own series; a big output lands in the top buckets', async () => {
    const { reader, tool } = setup();
    const outcomes: Outcome[] = ['success', 'error', 'timeout'];
    for (const outcome of outcomes) {
      tool.recordDuration('t', outcome, 31_000);
    }
    tool.recordOutputBytes('t', 5e7);
    tool.recordOutputBytes('t', 1e7);
    const all = await collect(reader);
    for (const outcome of outcomes) {
      const point = histogramPoint(metric(all, MetricNames.executeSeconds), {
        tool_id: 't',
        outcome,
      });
      // Above 30 s: the +Inf bucket.
      expect(point.buckets.counts.at(-1)).toBe(1);
    }
    // 1e7 is in (1e6, 1e7] (upper bounds are inclusive); 5e7 is in +Inf.
    expect(
      histogramPoint(metric(all, MetricNames.outputBytes), { tool_id: 't' }).buckets.counts,
    ).toEqual([0, 0, 0, 0, 0, 1, 1]);
  });

  test('output bytes of a failure count only for output_limit', async () => {
    const { reader, tool } = setup();
    tool.recordExecution({
      toolId: 'a',
      outcome: 'error',
      durationMs: 1,
      outputBytes: 300,
      errorKind: ErrorKind.ToolError,
    });
    tool.recordExecution({
      toolId: 'b',
      outcome: 'error',
      durationMs: 1,
      outputBytes: 2e6,
      errorKind: ErrorKind.OutputLimit,
    });
    const all = await collect(reader);
    expect(points(metric(all, MetricNames.outputBytes)).map((point) => point.attributes)).toEqual([
      { tool_id: 'b' },
    ]);
  });

  test('the intent methods record alone; a failure without a kind counts as internal', async () => {
    const { reader, tool } = setup();
    tool.recordError('a', ErrorKind.InvalidRequest);
    tool.recordTimeout('b');
    tool.recordExit({ status: 'exit', code: 3 });
    tool.recordExecution({ toolId: 'c', outcome: 'error', durationMs: 1 });
    tool.recordDuration('d', 'success', Number.NaN);
    const all = await collect(reader);
    expect(points(metric(all, MetricNames.errors))).toEqual([
      { attributes: { tool_id: 'a', error_kind: 'invalid_request' }, value: 1 },
      { attributes: { tool_id: 'c', error_kind: 'internal' }, value: 1 },
    ]);
    expect(points(metric(all, MetricNames.timeouts))).toEqual([
      { attributes: { tool_id: 'b' }, value: 1 },
    ]);
    expect(points(metric(all, MetricNames.processExits))).toEqual([
      { attributes: { status: 'exit', code: 3 }, value: 1 },
    ]);
    // The NaN duration was dropped: only tool c has a duration point.
    expect(
      points(metric(all, MetricNames.executeSeconds)).map((point) => point.attributes),
    ).toEqual([{ tool_id: 'c', outcome: 'error' }]);
  });

  test('without a provider option, a global provider registered after construction gets the data', async () => {
    const tool = new ToolMetrics();
    // Recorded before any SDK exists: goes to the no-op meter, harmlessly.
    tool.recordTimeout('early');

    const reader = new TestReader();
    expect(metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))).toBe(true);
    tool.recordTimeout('late');
    expect(points(metric(await collect(reader), MetricNames.timeouts))).toEqual([
      { attributes: { tool_id: 'late' }, value: 1 },
    ]);

    // A replaced global provider is followed too.
    metrics.disable();
    const second = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [second] }));
    tool.recordTimeout('later');
    expect(points(metric(await collect(second), MetricNames.timeouts))).toEqual([
      { attributes: { tool_id: 'later' }, value: 1 },
    ]);
  });
});
