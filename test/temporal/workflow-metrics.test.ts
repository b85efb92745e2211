/**
 * Seed 002's workflow metrics: exact names, types, label and buckets read from an SDK
 * MeterProvider; the interceptor's outcome for each terminal state; the sinks (counted once,
 * never on replay, durations from the run's start); worker gauges; a meter that throws.
 */
import type { Meter, MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import {
  DataPointType,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { ContinueAsNew, type WorkflowInfo } from '@temporalio/workflow';
import { describe, expect, test } from 'vitest';
import { createWorkflowMetricsSinks } from '../../src/temporal/sinks.js';
import {
  WorkflowMetricsInterceptor,
  workflowOutcome,
} from '../../src/temporal/workflow-interceptors.js';
import {
  WORKFLOW_DURATION_BUCKETS,
  WORKFLOW_METRICS_SINK,
  type WorkflowMetricsSink,
  type WorkflowOutcome,
} from '../../src/temporal/workflow-metric-names.js';
import { WorkflowMetrics } from '../../src/temporal/workflow-metrics.js';
import { collect, testMeterProvider } from '../helpers/otel.js';

function setup(prefix?: string) {
  const { reader, meterProvider: provider } = testMeterProvider();
  const warnings: string[] = [];
  const metrics = new WorkflowMetrics({
    meterProvider: provider,
    onWarning: (message) => warnings.push(message),
    ...(prefix === undefined ? {} : { prefix }),
  });
  return { reader, metrics, warnings };
}

const values = (data: MetricData | undefined) =>
  (data?.dataPoints as DataPoint<unknown>[] | undefined)?.map((point) => ({
    attributes: { ...point.attributes },
    value: point.value,
  })) ?? [];

/** What the worker passes a sink function: the workflow's info (only what the sinks read). */
function info(workflowType: string, runStartMs: number, isReplaying = false): WorkflowInfo {
  return {
    workflowType,
    runStartTime: new Date(runStartMs),
    unsafe: { isReplaying, isReplayingHistoryEvents: isReplaying },
  } as unknown as WorkflowInfo;
}

const sinkOf = (metrics: WorkflowMetrics, now: () => number) =>
  createWorkflowMetricsSinks(metrics, now)[WORKFLOW_METRICS_SINK];

describe('names, types, label and buckets (read from an SDK MeterProvider)', () => {
  test("exactly the seed's, for a run of every terminal state and the worker gauges", async () => {
    const { reader, metrics } = setup();
    const sink = sinkOf(metrics, () => 10_000);
    const outcomes: WorkflowOutcome[] = [
      'completed',
      'completed',
      'failed',
      'canceled',
      'timed_out',
    ];
    for (const outcome of outcomes) {
      void sink.started.fn(info('toolPipeline', 9_000));
      void sink.ended.fn(info('toolPipeline', 9_000), outcome);
    }
    metrics.workerConfigured();
    metrics.workerStarted();
    const all = await collect(reader);

    expect([...all.keys()].sort()).toEqual([
      'compozy_temporal_workers_configured_total',
      'compozy_temporal_workers_running_total',
      'compozy_temporal_workflow_canceled_total',
      'compozy_temporal_workflow_completed_total',
      'compozy_temporal_workflow_duration_seconds',
      'compozy_temporal_workflow_failed_total',
      'compozy_temporal_workflow_started_total',
      'compozy_temporal_workflow_timed_out_total',
    ]);
    const counter = (name: string, value: number) => {
      const data = all.get(name)!;
      expect(data.dataPointType).toBe(DataPointType.SUM);
      expect((data as { isMonotonic?: boolean }).isMonotonic).toBe(true);
      expect(values(data)).toEqual([{ attributes: { workflow_type: 'toolPipeline' }, value }]);
    };
    counter('compozy_temporal_workflow_started_total', 5);
    counter('compozy_temporal_workflow_completed_total', 2);
    counter('compozy_temporal_workflow_failed_total', 1);
    counter('compozy_temporal_workflow_canceled_total', 1);
    counter('compozy_temporal_workflow_timed_out_total', 1);

    const duration = all.get('compozy_temporal_workflow_duration_seconds')!;
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration.descriptor.unit).toBe('s');
    const point = duration.dataPoints[0] as DataPoint<Histogram>;
    expect({ ...point.attributes }).toEqual({ workflow_type: 'toolPipeline' });
    expect(point.value.buckets.boundaries).toEqual([...WORKFLOW_DURATION_BUCKETS]);
    expect(point.value.buckets.boundaries).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]);
    // Every execution took 1 s from its run's start: all five in the (0.5, 1] bucket.
    expect(point.value.count).toBe(5);
    expect(point.value.sum).toBe(5);
    expect(point.value.buckets.counts[7]).toBe(5);

    const running = all.get('compozy_temporal_workers_running_total')!;
    expect(running.dataPointType).toBe(DataPointType.SUM);
    expect((running as { isMonotonic?: boolean }).isMonotonic).toBe(false);
    expect(values(running)).toEqual([{ attributes: {}, value: 1 }]);
    const configured = all.get('compozy_temporal_workers_configured_total')!;
    expect(configured.dataPointType).toBe(DataPointType.GAUGE);
    expect(values(configured)).toEqual([{ attributes: {}, value: 1 }]);
    metrics.workerStopped();
    metrics.workerUnconfigured();
  });

  test('the prefix option renames everything; a bad prefix is a TypeError', async () => {
    const { reader, metrics } = setup('acme_wf');
    metrics.workflowStarted('t');
    expect([...(await collect(reader)).keys()]).toEqual(['acme_wf_workflow_started_total']);
    expect(metrics.names.durationSeconds).toBe('acme_wf_workflow_duration_seconds');
    expect(() => new WorkflowMetrics({ prefix: '1bad-prefix' })).toThrow(
      'Expected `prefix` to be letters, digits and `_` starting with a letter, got `1bad-prefix` (string)',
    );
  });
});

describe('the sinks', () => {
  test('are registered with callDuringReplay false', () => {
    const sink = sinkOf(new WorkflowMetrics(), Date.now);
    expect(sink.started.callDuringReplay).toBe(false);
    expect(sink.ended.callDuringReplay).toBe(false);
  });

  test('a replayed call records nothing (even where a worker would deliver it)', async () => {
    const { reader, metrics } = setup();
    const sink = sinkOf(metrics, () => 5_000);
    void sink.started.fn(info('replayed', 0, true));
    void sink.ended.fn(info('replayed', 0, true), 'completed');
    expect(values((await collect(reader)).get('compozy_temporal_workflow_started_total'))).toEqual(
      [],
    );
  });

  test('a workflow that outlived a worker is counted once, measured from its run start', async () => {
    const { reader, metrics } = setup();
    // Worker A started it (live), then died; worker B replays the start and ends it live.
    const runStart = 1_000;
    void sinkOf(metrics, () => 1_010).started.fn(info('long', runStart));
    const workerB = sinkOf(metrics, () => 4_000);
    void workerB.started.fn(info('long', runStart, true));
    void workerB.ended.fn(info('long', runStart), 'completed');
    const all = await collect(reader);
    expect(values(all.get('compozy_temporal_workflow_started_total'))[0]?.value).toBe(1);
    expect(values(all.get('compozy_temporal_workflow_completed_total'))[0]?.value).toBe(1);
    expect(
      (all.get('compozy_temporal_workflow_duration_seconds')!.dataPoints[0] as DataPoint<Histogram>)
        .value.sum,
    ).toBe(3);
  });

  test('an outcome the workflow made up counts as failed (no unbounded label)', async () => {
    const { reader, metrics } = setup();
    void sinkOf(metrics, () => 0).ended.fn(info('t', 0), 'exploded' as WorkflowOutcome);
    expect([...(await collect(reader)).keys()]).toContain('compozy_temporal_workflow_failed_total');
  });
});

describe('a meter that throws never hurts', () => {
  function throwingProvider(where: 'getMeter' | 'record'): ApiMeterProvider {
    const fail = () => {
      throw new Error(`exporter on fire (${where})`);
    };
    const instrument = { add: fail, record: fail };
    const meter = {
      createCounter: () => instrument,
      createHistogram: () => instrument,
      createUpDownCounter: () => instrument,
      createGauge: () => instrument,
    } as unknown as Meter;
    return { getMeter: where === 'getMeter' ? fail : () => meter };
  }

  test.each(['getMeter', 'record'] as const)(
    'failing at %s: caught, warned once, counted',
    (where) => {
      const warnings: string[] = [];
      const metrics = new WorkflowMetrics({
        meterProvider: throwingProvider(where),
        onWarning: (message) => warnings.push(message),
      });
      const sink = sinkOf(metrics, Date.now);
      expect(() => {
        void sink.started.fn(info('t', 0));
        void sink.ended.fn(info('t', 0), 'failed');
        metrics.workerStarted();
        metrics.workerStopped();
        metrics.workerConfigured();
        metrics.workerUnconfigured();
      }).not.toThrow();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`exporter on fire (${where})`);
      expect(warnings[0]).toContain('workflows are unaffected');
      expect(metrics.failures).toBe(6);
    },
  );
});

describe('the interceptor (workflow side)', () => {
  test.each([
    ['an application failure', ApplicationFailure.create({ message: 'no' }), 'failed'],
    ['a plain error', new Error('bug'), 'failed'],
    ['the workflow cancelled', new CancelledFailure('cancelled'), 'canceled'],
    [
      'an activity cancelled',
      new ActivityFailure(
        'x',
        'executeTool',
        '1',
        RetryState.CANCEL_REQUESTED,
        'w',
        new CancelledFailure('c'),
      ),
      'canceled',
    ],
    [
      'an activity timed out',
      new ActivityFailure(
        'x',
        'executeTool',
        '1',
        RetryState.TIMEOUT,
        'w',
        new TimeoutFailure('t', undefined, TimeoutType.START_TO_CLOSE),
      ),
      'timed_out',
    ],
    [
      'a child timed out, wrapped by the workflow',
      ApplicationFailure.create({
        message: 'step failed',
        cause: new ChildWorkflowFailure(
          'ns',
          { workflowId: 'c', runId: 'r' },
          'child',
          RetryState.TIMEOUT,
          new TimeoutFailure('t', undefined, TimeoutType.SCHEDULE_TO_CLOSE),
        ),
      }),
      'timed_out',
    ],
    [
      'a tool timeout (toolcage kind, an application failure)',
      new ActivityFailure(
        'x',
        'executeTool',
        '1',
        RetryState.MAXIMUM_ATTEMPTS_REACHED,
        'w',
        ApplicationFailure.create({ type: 'timeout', message: 'Tool timed out' }),
      ),
      'failed',
    ],
    ['continue-as-new', new ContinueAsNew({}), 'completed'],
  ])('%s → %s', (_what, error, outcome) => {
    expect(workflowOutcome(error)).toBe(outcome);
  });

  function recordingSink(throwing = false) {
    const calls: string[] = [];
    const sink: WorkflowMetricsSink = {
      started: () => {
        calls.push('started');
        if (throwing) throw new Error('no sink registered');
      },
      ended: (outcome) => {
        calls.push(`ended:${outcome}`);
        if (throwing) throw new Error('no sink registered');
      },
    };
    return { calls, sink };
  }
  const input = { args: [], headers: {} };

  test('reports start and end around the execution, result and error unchanged', async () => {
    const ok = recordingSink();
    await expect(
      new WorkflowMetricsInterceptor(ok.sink).execute(input, () => Promise.resolve('result')),
    ).resolves.toBe('result');
    expect(ok.calls).toEqual(['started', 'ended:completed']);

    const failing = recordingSink();
    const error = new CancelledFailure('cancelled');
    await expect(
      new WorkflowMetricsInterceptor(failing.sink).execute(input, () => Promise.reject(error)),
    ).rejects.toBe(error);
    expect(failing.calls).toEqual(['started', 'ended:canceled']);
  });

  test('a sink that throws changes neither the result nor the error', async () => {
    const broken = recordingSink(true);
    await expect(
      new WorkflowMetricsInterceptor(broken.sink).execute(input, () => Promise.resolve(42)),
    ).resolves.toBe(42);
    const error = new Error('the workflow failed');
    await expect(
      new WorkflowMetricsInterceptor(broken.sink).execute(input, () => Promise.reject(error)),
    ).rejects.toBe(error);
    expect(broken.calls).toEqual(['started', 'ended:completed', 'started', 'ended:failed']);
  });
});
