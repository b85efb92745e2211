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
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import { isToolExecutionError } from '../../src/errors/tool-execution-error.js';
import { setupTelemetry, type TelemetryHandle } from '../../src/telemetry/index.js';
import { MetricBuckets, PrometheusMetricNames } from '../../src/telemetry/names.js';
import { FIXTURES } from '../helpers/runtime.js';
import {
  findPrometheus,
  startPrometheus,
  type PrometheusServer,
  type Sample,
} from '../helpers/prometheus.js';

const ALERTS_FILE = fileURLToPath(new URL('../../observability/alerts.yml', import.meta.url));
const DASHBOARD_FILE = fileURLToPath(
  new URL('../../observability/dashboard.json', import.meta.url),
);

const binary = findPrometheus();
const requireAll = process.env['TOOLCAGE_REQUIRE_ALL'] === '1';
if (binary === undefined && !requireAll) {
  console.warn(
    '\n*** SKIPPED: test/telemetry/prometheus.test.ts — no prometheus binary (apt-get install prometheus, ' +
      'or set PROMETHEUS_BIN). Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure. ***\n',
  );
}

test('prometheus is available (required when TOOLCAGE_REQUIRE_ALL=1)', () => {
  if (requireAll) expect(binary, 'prometheus binary (TOOLCAGE_REQUIRE_ALL=1)').toBeDefined();
});

/** The `expr` of every rule in alerts.yml (a small reader for this file's layout: `expr: >-` blocks or one line). */
function alertExpressions(): { alert: string; expr: string }[] {
  const lines = readFileSync(ALERTS_FILE, 'utf8').split('\n');
  const found: { alert: string; expr: string }[] = [];
  let alert = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const name = /^\s*- alert:\s*(\S+)/.exec(line);
    if (name !== null) alert = name[1]!;
    const expr = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (expr === null) continue;
    const indent = expr[1]!.length;
    if (expr[2] !== '>-' && expr[2] !== '|') {
      found.push({ alert, expr: expr[2]! });
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length) {
      const next = lines[i + 1]!;
      if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
      block.push(next.trim());
      i++;
    }
    found.push({ alert, expr: block.join(' ').trim() });
  }
  return found;
}

/** Every target `expr` of every panel of dashboard.json, with Grafana's variables substituted. */
function dashboardExpressions(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    panels: { title: string; targets?: { expr?: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: panel.title,
      expr: (target.expr ?? '')
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('${tool_id}', '.*')
        .replaceAll('$tool_id', '.*'),
    })),
  );
}

// "expr > 30" (or ">= 30") → { base: "expr", threshold: 30 }.
function splitThreshold(expr: string): { base: string; threshold: number } {
  const match = /^([\s\S]*?)\s*>=?\s*([0-9.]+)\s*$/.exec(expr);
  if (match === null) throw new Error(`alert expression without a "> threshold": ${expr}`);
  return { base: match[1]!, threshold: Number(match[2]) };
}

// `le` label values in bucket order ('+Inf' last).
const sortedLe = (values: Iterable<string | undefined>): (string | undefined)[] =>
  [...new Set(values)].sort(
    (a, b) => (a === '+Inf' ? Infinity : Number(a)) - (b === '+Inf' ? Infinity : Number(b)),
  );

const finite = (samples: Sample[]): Sample[] =>
  samples.filter((s) => Number.isFinite(Number(s.value)));

describe.skipIf(binary === undefined)('a real Prometheus scraping toolcage', () => {
  let telemetry: TelemetryHandle;
  let runtime: ToolRuntime;
  let prometheus: PrometheusServer;

  // What the mix below should produce, to compare with what Prometheus holds.
  const expected = { ok: 0, throws: 0, forever: 0, crash: 0 };

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
    const settled = await Promise.allSettled(calls);
    for (const result of settled) {
      if (result.status === 'rejected' && !isToolExecutionError(result.reason)) throw result.reason;
    }
  }

  // Resolves once `check` holds; Prometheus is asked every 250 ms for up to 30 s (vi.waitFor:
  // some of these waits are in beforeAll, where expect.poll cannot run).
  async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
    await vi.waitFor(
      async () => {
        if (!(await check())) throw new Error(`still waiting for ${what}`);
      },
      { timeout: 30_000, interval: 250 },
    );
  }

  async function samples(expr: string): Promise<Sample[]> {
    const answer = await prometheus.query(expr);
    if (!answer.ok) throw new Error(`query failed: ${expr}\n${answer.error}`);
    return answer.samples;
  }

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
    prometheus = await startPrometheus({
      target: telemetry.prometheusUrl!,
      ruleFiles: [ALERTS_FILE],
    });

    // Rates need an increase between two scrapes: one mix, a scrape that sees it, another mix.
    await runMix();
    await waitUntil(
      'the first scrape',
      async () => (await samples(PrometheusMetricNames.timeouts)).length > 0,
    );
    await runMix();
    const total = expected.ok + expected.throws + expected.forever + expected.crash;
    await waitUntil('the second mix in Prometheus', async () => {
      const counts = await samples(`sum(${PrometheusMetricNames.executeSeconds}_count)`);
      return Number(counts[0]?.value) === total;
    });
    // …and a rate over it (a scrape after the increase is in).
    await waitUntil(
      'non-zero rates',
      async () =>
        finite(await samples(`rate(${PrometheusMetricNames.timeouts}[1m]) > 0`)).length > 0,
    );
  }, 60_000);

  afterAll(async () => {
    await prometheus?.close();
    await runtime?.close();
    await telemetry?.shutdown();
  });

  test('runtime_tool_execute_seconds: histogram with tool_id, outcome and the DESIGN buckets', async () => {
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
    expect(total).toBe(expected.ok + expected.throws + expected.forever + expected.crash);
    for (const sample of exits) {
      const labels = Object.keys(sample.metric).filter(
        (k) => !['__name__', 'instance', 'job'].includes(k),
      );
      expect(labels.sort()).toEqual(
        sample.metric['status'] === 'exit' ? ['code', 'status'] : ['signal', 'status'],
      );
    }
  });

  test('runtime_tool_output_bytes: histogram with tool_id and the DESIGN buckets', async () => {
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

  test.each(alertExpressions())(
    'alert $alert: its expression evaluates and returns data',
    async ({ expr }) => {
      const { base, threshold } = splitThreshold(expr);
      expect(threshold).toBeGreaterThan(0);
      const values = finite(await samples(base));
      expect(values.length, `no finite series for: ${base}`).toBeGreaterThan(0);
      expect(values.some((s) => Number(s.value) > 0)).toBe(true);
      const lowered = await samples(`${base} > 0`);
      expect(lowered.length, `nothing above 0 for: ${base}`).toBeGreaterThan(0);
    },
  );

  test('alerts.yml: three rules, loaded and evaluated by Prometheus without error', async () => {
    expect(alertExpressions().map((a) => a.alert)).toEqual([
      'HighToolErrorRate',
      'ToolTimeoutSpike',
      'SlowToolExecution',
    ]);
    await waitUntil('rule evaluation', async () =>
      (await prometheus.rules()).every((rule) => !rule.lastEvaluation.startsWith('0001')),
    );
    const rules = await prometheus.rules();
    expect(rules.map((rule) => rule.name).sort()).toEqual([
      'HighToolErrorRate',
      'SlowToolExecution',
      'ToolTimeoutSpike',
    ]);
    for (const rule of rules)
      expect({ name: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        name: rule.name,
        health: 'ok',
        error: '',
      });
  });

  test('dashboard.json: every panel query evaluates and returns data', async () => {
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThanOrEqual(6);
    const empty: string[] = [];
    for (const { panel, expr } of expressions) {
      const values = finite(await samples(expr));
      if (values.length === 0) empty.push(`${panel}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });
});
