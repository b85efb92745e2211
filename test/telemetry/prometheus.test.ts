/**
 * toolcage → its Prometheus endpoint → a real Prometheus (1 s scrapes) → the queries of
 * observability/alerts.yml and observability/dashboard.json.
 *
 * "Returns data" for an alert: the expression is evaluated (1) without its threshold
 * comparison, which must give at least one finite series (the quantity the alert watches
 * exists and is computable), and (2) with its threshold lowered to 0, which must give at least
 * one series (the comparison itself passes through). The rules are also loaded into Prometheus
 * and must all evaluate with health `ok`. Dashboard queries are evaluated with Grafana's
 * variables substituted: `$tool_id` → `.*` (the "All" value), `$__rate_interval` → `1m`.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import { isToolExecutionError } from '../../src/errors/tool-execution-error.js';
import { setupTelemetry, type TelemetryHandle } from '../../src/telemetry/index.js';
import { MetricBuckets, PrometheusMetricNames } from '../../src/telemetry/names.js';
import { FIXTURES } from '../helpers/runtime.js';
import { sandboxAvailability } from '../sandbox/harness.js';
import {
  alertExpressions,
  dashboardExpressions,
  emptyDashboardQueries,
  expectAlertReturnsData,
  expectRulesHealthy,
  prometheusForTests,
  querySamples,
  scrapeTwoRounds,
  sortedLe,
} from '../helpers/observability.js';
import { startPrometheus, type PrometheusServer, type Sample } from '../helpers/prometheus.js';

const ALERTS_FILE = fileURLToPath(new URL('../../observability/alerts.yml', import.meta.url));
const DASHBOARD_FILE = fileURLToPath(
  new URL('../../observability/dashboard.json', import.meta.url),
);

const binary = prometheusForTests('test/telemetry/prometheus.test.ts');

describe.skipIf(binary === undefined)('a real Prometheus scraping toolcage', () => {
  let telemetry: TelemetryHandle;
  let runtime: ToolRuntime;
  // A network allow-list needs the sandbox: its executions feed the network panels.
  let sandboxed: ToolRuntime | undefined;
  let prometheus: PrometheusServer;

  // What the mix below should produce, to compare with what Prometheus holds.
  const expected = { ok: 0, throws: 0, forever: 0, crash: 0, fetcher: 0 };

  async function runMix(): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      calls.push(
        runtime.executeToolWithTimeout({ toolId: 'ok-sync', input: { i, pad: 'x'.repeat(200) } }),
      );
      expected.ok++;
    }
    calls.push(runtime.executeToolWithTimeout({ toolId: 'throws' }));
    expected.throws++;
    calls.push(runtime.executeToolWithTimeout({ toolId: 'forever', timeoutMs: 300 }));
    expected.forever++;
    calls.push(runtime.executeToolWithTimeout({ toolId: 'crash-exit' }));
    expected.crash++;
    if (sandboxed !== undefined) {
      // One connection allowed (nothing listens on port 9: the proxy answers 502), one refused
      // by the allow-list (never attempted): both decisions, and a `net` denial.
      for (const host of ['allowed.test', 'denied.test']) {
        calls.push(
          sandboxed.executeToolWithTimeout({
            toolId: 'fetcher',
            input: { url: `http://${host}:9/` },
          }),
        );
        expected.fetcher++;
      }
    }
    const settled = await Promise.allSettled(calls);
    for (const result of settled) {
      if (result.status === 'rejected' && !isToolExecutionError(result.reason)) throw result.reason;
    }
  }

  const samples = (expr: string): Promise<Sample[]> => querySamples(prometheus, expr);

  beforeAll(async () => {
    telemetry = await setupTelemetry({ otlp: false, prometheus: { port: 0 } });
    runtime = createToolRuntime({
      rootDir: FIXTURES,
      sandbox: 'none',
      concurrency: 8,
      tools: {
        'ok-sync': { path: 'ok-sync.ts' },
        throws: { path: 'throws.ts' },
        forever: { path: 'forever.ts' },
        'crash-exit': { path: 'crash-exit.ts' },
      },
      meterProvider: telemetry.meterProvider,
      tracerProvider: telemetry.tracerProvider,
    });
    if ((await sandboxAvailability()).ok) {
      sandboxed = createToolRuntime({
        rootDir: FIXTURES,
        tools: { fetcher: { path: 'net-fetch.ts', permissions: { net: ['allowed.test'] } } },
        network: { hosts: { 'allowed.test': '127.0.0.1' }, allowPrivateAddresses: true },
        meterProvider: telemetry.meterProvider,
        tracerProvider: telemetry.tracerProvider,
      });
    }
    prometheus = await startPrometheus({
      target: telemetry.prometheusUrl!,
      ruleFiles: [ALERTS_FILE],
    });

    await scrapeTwoRounds(prometheus, {
      round: runMix,
      firstSeries: PrometheusMetricNames.timeouts,
      counted: `${PrometheusMetricNames.executeSeconds}_count`,
      total: () =>
        expected.ok + expected.throws + expected.forever + expected.crash + expected.fetcher,
      rising: PrometheusMetricNames.timeouts,
    });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.close();
    await runtime?.close();
    await sandboxed?.close();
    await telemetry?.shutdown();
  });

  test("runtime_tool_execute_seconds: histogram with tool_id, outcome and the README's buckets", async () => {
    const name = PrometheusMetricNames.executeSeconds;
    expect(await prometheus.metadataType(name)).toBe('histogram');
    const buckets = await samples(`${name}_bucket`);
    expect(sortedLe(buckets.map((s) => s.metric['le']))).toEqual([
      ...MetricBuckets.executeSeconds.map(String),
      '+Inf',
    ]);
    const counts = await samples(`${name}_count`);
    const byKey = Object.fromEntries(
      counts.map((s) => [`${s.metric['tool_id']}/${s.metric['outcome']}`, Number(s.value)]),
    );
    expect(byKey).toEqual({
      'ok-sync/success': expected.ok,
      'throws/error': expected.throws,
      'forever/timeout': expected.forever,
      'crash-exit/error': expected.crash,
      ...(expected.fetcher > 0 ? { 'fetcher/error': expected.fetcher } : {}),
    });
    for (const sample of counts) {
      expect(Object.keys(sample.metric).sort()).toEqual([
        '__name__',
        'instance',
        'job',
        'outcome',
        'tool_id',
      ]);
    }
  });

  test('runtime_tool_errors_total and runtime_tool_timeouts_total: counters with their labels', async () => {
    expect(await prometheus.metadataType(PrometheusMetricNames.errors)).toBe('counter');
    expect(await prometheus.metadataType(PrometheusMetricNames.timeouts)).toBe('counter');
    const errors = await samples(PrometheusMetricNames.errors);
    const byKind = Object.fromEntries(
      errors.map((s) => [`${s.metric['tool_id']}/${s.metric['error_kind']}`, Number(s.value)]),
    );
    expect(byKind).toEqual({
      'throws/tool_error': expected.throws,
      'forever/timeout': expected.forever,
      'crash-exit/crashed': expected.crash,
      // The allowed connection finds nothing on port 9 (the tool throws on the proxy's 502);
      // the other is refused by the allow-list.
      ...(expected.fetcher > 0
        ? {
            'fetcher/tool_error': expected.fetcher / 2,
            'fetcher/permission_denied': expected.fetcher / 2,
          }
        : {}),
    });
    const timeouts = await samples(PrometheusMetricNames.timeouts);
    expect(timeouts.map((s) => ({ tool_id: s.metric['tool_id'], value: Number(s.value) }))).toEqual(
      [{ tool_id: 'forever', value: expected.forever }],
    );
  });

  test('runtime_bun_process_exits_total: status with code or signal', async () => {
    expect(await prometheus.metadataType(PrometheusMetricNames.processExits)).toBe('counter');
    const exits = await samples(PrometheusMetricNames.processExits);
    const byKey = Object.fromEntries(
      exits.map((s) => [
        `${s.metric['status']}/${s.metric['code'] ?? s.metric['signal']}`,
        Number(s.value),
      ]),
    );
    // The timed-out tool is killed; the crashing one exits 3; the others exit on their own.
    expect(byKey['signal/SIGKILL']).toBe(expected.forever);
    expect(byKey['exit/3']).toBe(expected.crash);
    const total = Object.values(byKey).reduce((a, b) => a + b, 0);
    expect(total).toBe(
      expected.ok + expected.throws + expected.forever + expected.crash + expected.fetcher,
    );
    for (const sample of exits) {
      const labels = Object.keys(sample.metric).filter(
        (k) => !['__name__', 'instance', 'job'].includes(k),
      );
      expect(labels.sort()).toEqual(
        sample.metric['status'] === 'exit' ? ['code', 'status'] : ['signal', 'status'],
      );
    }
  });

  test("runtime_tool_output_bytes: histogram with tool_id and the README's buckets", async () => {
    const name = PrometheusMetricNames.outputBytes;
    expect(await prometheus.metadataType(name)).toBe('histogram');
    const buckets = await samples(`${name}_bucket`);
    expect(sortedLe(buckets.map((s) => s.metric['le']))).toEqual([
      ...MetricBuckets.outputBytes.map(String),
      '+Inf',
    ]);
    const counts = await samples(`${name}_count`);
    expect(counts.map((s) => [s.metric['tool_id'], Number(s.value)])).toEqual([
      ['ok-sync', expected.ok],
    ]);
    // Each result is a little over 200 bytes: all in (100, 1000].
    expect(Number((await samples(`${name}_bucket{le="100"}`))[0]?.value)).toBe(0);
    expect(Number((await samples(`${name}_bucket{le="1000"}`))[0]?.value)).toBe(expected.ok);
  });

  test.each(alertExpressions(ALERTS_FILE))(
    'alert $alert: its expression evaluates and returns data',
    async ({ expr }) => expectAlertReturnsData(prometheus, expr),
  );

  test('alerts.yml: three rules, loaded and evaluated by Prometheus without error', async () => {
    const names = ['HighToolErrorRate', 'ToolTimeoutSpike', 'SlowToolExecution'];
    expect(alertExpressions(ALERTS_FILE).map((a) => a.alert)).toEqual(names);
    await expectRulesHealthy(prometheus, names);
  });

  test('runtime_tool_network_requests_total and runtime_tool_permission_denials_total: counters with low-cardinality labels', async ({
    skip,
  }) => {
    if (sandboxed === undefined) skip('no sandbox: no allow-list');
    const requests = PrometheusMetricNames.networkRequests;
    expect(await prometheus.metadataType(requests)).toBe('counter');
    const decisions = await samples(requests);
    expect(decisions.map((s) => s.metric['decision']).sort()).toEqual(['allowed', 'denied']);
    for (const sample of decisions) {
      expect(Object.keys(sample.metric).sort()).toEqual(
        expect.arrayContaining(['decision', 'tool_id']),
      );
      expect(sample.metric['tool_id']).toBe('fetcher');
      expect(Number(sample.value)).toBe(expected.fetcher / 2);
    }
    const denials = await samples(PrometheusMetricNames.permissionDenials);
    expect(
      denials.map((s) => [s.metric['tool_id'], s.metric['operation'], Number(s.value)]),
    ).toEqual([['fetcher', 'net', expected.fetcher / 2]]);
  });

  test('dashboard.json: every panel query evaluates and returns data', async () => {
    expect(dashboardExpressions(DASHBOARD_FILE).length).toBeGreaterThanOrEqual(8);
    // Without the sandbox there is no allow-list, so no network data (sandboxAvailability()
    // warned, or failed the run under TOOLCAGE_REQUIRE_ALL=1).
    const network = /runtime_tool_(network_requests|permission_denials)_total/;
    const empty = await emptyDashboardQueries(prometheus, DASHBOARD_FILE);
    expect(empty.filter((query) => sandboxed !== undefined || !network.test(query))).toEqual([]);
  });
});
