/**
 * The Temporal metrics through the same telemetry as the runtime's: setupTelemetry's
 * Prometheus endpoint → a real Prometheus (1 s scrapes) → the names, types, labels and buckets,
 * and every query of observability/temporal-alerts.yml and temporal-dashboard.json returning
 * data. The workflow metrics are produced through the worker-side sink functions (as a worker
 * calls them for live executions); an `executeTool` activity runs a real tool on the same
 * providers, so the runtime's metrics arrive at the same endpoint.
 */
import { fileURLToPath } from 'node:url';
import type { WorkflowInfo } from '@temporalio/workflow';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import { createToolActivities } from '../../src/temporal/activities.js';
import { createWorkflowMetricsSinks } from '../../src/temporal/sinks.js';
import {
  WORKFLOW_DURATION_BUCKETS,
  WORKFLOW_METRICS_SINK,
  workflowMetricNames,
  type WorkflowOutcome,
} from '../../src/temporal/workflow-metric-names.js';
import { WorkflowMetrics } from '../../src/temporal/workflow-metrics.js';
import { setupTelemetry, type TelemetryHandle } from '../../src/telemetry/index.js';
import { PrometheusMetricNames } from '../../src/telemetry/names.js';
import {
  alertExpressions,
  dashboardExpressions,
  emptyDashboardQueries,
  expectRulesHealthy,
  finite,
  prometheusForTests,
  querySamples,
  scrapeTwoRounds,
  sortedLe,
} from '../helpers/observability.js';
import { startPrometheus, type PrometheusServer, type Sample } from '../helpers/prometheus.js';
import { FIXTURES, TEST_SANDBOX } from '../helpers/runtime.js';

const ALERTS_FILE = fileURLToPath(
  new URL('../../observability/temporal-alerts.yml', import.meta.url),
);
const DASHBOARD_FILE = fileURLToPath(
  new URL('../../observability/temporal-dashboard.json', import.meta.url),
);
const NAMES = workflowMetricNames();

const binary = prometheusForTests('test/temporal/prometheus.test.ts');

// What the worker passes a sink function for a live execution (the fields the sinks read).
const live = (workflowType: string, runStartMs: number): WorkflowInfo =>
  ({
    workflowType,
    runStartTime: new Date(runStartMs),
    unsafe: { isReplaying: false, isReplayingHistoryEvents: false },
  }) as unknown as WorkflowInfo;

describe.skipIf(binary === undefined)('a real Prometheus scraping the Temporal metrics', () => {
  let telemetry: TelemetryHandle;
  let prometheus: PrometheusServer;
  let runtime: ToolRuntime;
  let metrics: WorkflowMetrics;
  const expected = { started: 0, completed: 0, failed: 0, canceled: 0, timed_out: 0 };

  // Per round: `orders` 3 completed, 2 failed, 1 canceled, 1 timed out (one of the seven
  // took 20 s, the others 0.2 s); `reports` 2 completed in 0.02 s.
  function round(): void {
    const sink = createWorkflowMetricsSinks(metrics)[WORKFLOW_METRICS_SINK];
    const now = Date.now();
    const run = (type: string, outcome: WorkflowOutcome, seconds: number) => {
      void sink.started.fn(live(type, now - seconds * 1000));
      void sink.ended.fn(live(type, now - seconds * 1000), outcome);
      expected.started++;
      if (type === 'orders') expected[outcome]++;
    };
    for (const outcome of [
      'completed',
      'completed',
      'completed',
      'failed',
      'failed',
      'canceled',
    ] as const)
      run('orders', outcome, 0.2);
    run('orders', 'timed_out', 20);
    run('reports', 'completed', 0.02);
    run('reports', 'completed', 0.02);
  }

  const samples = (expr: string): Promise<Sample[]> => querySamples(prometheus, expr);

  beforeAll(async () => {
    telemetry = await setupTelemetry({ otlp: false, prometheus: { port: 0 } });
    metrics = new WorkflowMetrics({ meterProvider: telemetry.meterProvider });
    runtime = createToolRuntime({
      rootDir: FIXTURES,
      sandbox: TEST_SANDBOX,
      tools: { echo: { path: 'ok-sync.ts' } },
      meterProvider: telemetry.meterProvider,
      tracerProvider: telemetry.tracerProvider,
    });
    prometheus = await startPrometheus({
      target: telemetry.prometheusUrl!,
      ruleFiles: [ALERTS_FILE],
    });

    // A worker process: two configured, one running (the workers alert has something to see).
    metrics.workerConfigured();
    metrics.workerConfigured();
    metrics.workerStarted();
    // A tool through the activity, on the same providers.
    const env = new MockActivityEnvironment(
      {
        scheduledTimestampMs: Date.now(),
        startToCloseTimeoutMs: 60_000,
        scheduleToCloseTimeoutMs: 0,
      },
      { logger: new DefaultLogger('ERROR') },
    );
    await env.run(createToolActivities(runtime).executeTool, { toolId: 'echo', input: 1 });

    await scrapeTwoRounds(prometheus, {
      round,
      firstSeries: NAMES.started,
      counted: NAMES.started,
      total: () => expected.started,
      rising: NAMES.ended.failed,
    });
  }, 90_000);

  afterAll(async () => {
    metrics?.workerStopped();
    metrics?.workerUnconfigured();
    metrics?.workerUnconfigured();
    await prometheus?.close();
    await runtime?.close();
    await telemetry?.shutdown();
  });

  test('counters with workflow_type only, each outcome its own name', async () => {
    for (const [name, type] of [
      [NAMES.started, 'started'],
      [NAMES.ended.completed, 'completed'],
      [NAMES.ended.failed, 'failed'],
      [NAMES.ended.canceled, 'canceled'],
      [NAMES.ended.timed_out, 'timed_out'],
    ] as const) {
      expect(await prometheus.metadataType(name), name).toBe('counter');
      const found = await samples(name);
      for (const sample of found)
        expect(Object.keys(sample.metric).sort()).toEqual([
          '__name__',
          'instance',
          'job',
          'workflow_type',
        ]);
      const orders = found.find((s) => s.metric['workflow_type'] === 'orders');
      expect(Number(orders?.value), name).toBe(
        type === 'started' ? expected.started - 4 : expected[type],
      );
    }
  });

  test('the duration histogram: workflow_type, the seed buckets', async () => {
    const name = NAMES.durationSeconds;
    expect(await prometheus.metadataType(name)).toBe('histogram');
    const buckets = await samples(`${name}_bucket{workflow_type="orders"}`);
    expect(sortedLe(buckets.map((s) => s.metric['le']))).toEqual([
      ...WORKFLOW_DURATION_BUCKETS.map(String),
      '+Inf',
    ]);
    const count = await samples(`${name}_count{workflow_type="orders"}`);
    expect(Number(count[0]?.value)).toBe(14);
    // The 20 s executions are above the top bucket: 12 of 14 at or under 10 s.
    expect(
      Number((await samples(`${name}_bucket{workflow_type="orders",le="10"}`))[0]?.value),
    ).toBe(12);
  });

  test('the worker gauges, and the runtime metrics on the same endpoint', async () => {
    expect(await prometheus.metadataType(NAMES.workersRunning)).toBe('gauge');
    expect(await prometheus.metadataType(NAMES.workersConfigured)).toBe('gauge');
    expect(Number((await samples(NAMES.workersRunning))[0]?.value)).toBe(1);
    expect(Number((await samples(NAMES.workersConfigured))[0]?.value)).toBe(2);
    const executions = await samples(`${PrometheusMetricNames.executeSeconds}_count`);
    expect(
      executions.map((s) => [s.metric['tool_id'], s.metric['outcome'], s.metric['instance']]),
    ).toEqual([['echo', 'success', (await samples(NAMES.started))[0]?.metric['instance']]]);
  });

  test.each(alertExpressions(ALERTS_FILE))(
    'alert $alert: its expression returns data',
    async ({ expr }) => {
      // The data above makes every rule's condition true: the expression as written returns series.
      const values = finite(await samples(expr));
      expect(values.length, `no series for: ${expr}`).toBeGreaterThan(0);
    },
  );

  test('temporal-alerts.yml: four rules, loaded and evaluated by Prometheus without error', async () => {
    const names = [
      'HighWorkflowFailureRate',
      'WorkflowTimeoutSpike',
      'SlowWorkflowExecution',
      'TemporalWorkersNotRunning',
    ];
    expect(alertExpressions(ALERTS_FILE).map((a) => a.alert)).toEqual(names);
    await expectRulesHealthy(prometheus, names);
  });

  test('temporal-dashboard.json: every panel query returns data', async () => {
    expect(dashboardExpressions(DASHBOARD_FILE).length).toBeGreaterThanOrEqual(8);
    expect(await emptyDashboardQueries(prometheus, DASHBOARD_FILE)).toEqual([]);
  });
});
