/**
 * The operations files on their own: alerts.yml passes `promtool check rules` and fires (and
 * stays quiet) as intended under `promtool test rules`; dashboard.json has the panels and the
 * data-source variable. That their queries return data from a real Prometheus scraping toolcage
 * is prometheus.test.ts's job.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const ALERTS_FILE = fileURLToPath(new URL('../../observability/alerts.yml', import.meta.url));
const DASHBOARD_FILE = fileURLToPath(
  new URL('../../observability/dashboard.json', import.meta.url),
);

function findPromtool(): string | undefined {
  const candidate = process.env['PROMTOOL_BIN'] || '/usr/bin/promtool';
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return undefined;
  }
}

const promtool = findPromtool();
const requireAll = process.env['TOOLCAGE_REQUIRE_ALL'] === '1';
if (promtool === undefined && !requireAll) {
  console.warn(
    '\n*** SKIPPED: promtool checks of observability/alerts.yml — no promtool (apt-get install prometheus, ' +
      'or set PROMTOOL_BIN). Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure. ***\n',
  );
}

// Series for `promtool test rules`, one sample a minute for 20 minutes. Tool `bad`: 1
// execution/s, all failing (tool_error), 10 % timing out, all slower than 30 s. Tool `good`:
// 1 execution/s, all under 0.1 s, no failures. Each alert must fire for `bad` only.
const RULE_TESTS = (rulesFile: string): string => `
rule_files:
  - ${JSON.stringify(rulesFile)}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'runtime_tool_errors_total{tool_id="bad",error_kind="tool_error"}'
        values: '0+60x20'
      - series: 'runtime_tool_timeouts_total{tool_id="bad"}'
        values: '0+6x20'
      - series: 'runtime_tool_execute_seconds_count{tool_id="bad",outcome="error"}'
        values: '0+60x20'
      - series: 'runtime_tool_execute_seconds_bucket{tool_id="bad",outcome="error",le="10"}'
        values: '0x20'
      - series: 'runtime_tool_execute_seconds_bucket{tool_id="bad",outcome="error",le="30"}'
        values: '0x20'
      - series: 'runtime_tool_execute_seconds_bucket{tool_id="bad",outcome="error",le="+Inf"}'
        values: '0+60x20'
      - series: 'runtime_tool_timeouts_total{tool_id="good"}'
        values: '0x20'
      - series: 'runtime_tool_errors_total{tool_id="good",error_kind="tool_error"}'
        values: '0x20'
      - series: 'runtime_tool_execute_seconds_count{tool_id="good",outcome="success"}'
        values: '0+60x20'
      - series: 'runtime_tool_execute_seconds_bucket{tool_id="good",outcome="success",le="0.1"}'
        values: '0+60x20'
      - series: 'runtime_tool_execute_seconds_bucket{tool_id="good",outcome="success",le="30"}'
        values: '0+60x20'
      - series: 'runtime_tool_execute_seconds_bucket{tool_id="good",outcome="success",le="+Inf"}'
        values: '0+60x20'
    alert_rule_test:
      # Before the "for" duration has passed: pending, not firing.
      - eval_time: 1m
        alertname: HighToolErrorRate
        exp_alerts: []
      - eval_time: 10m
        alertname: HighToolErrorRate
        exp_alerts:
          - exp_labels: { severity: warning, tool_id: bad, error_kind: tool_error }
            exp_annotations:
              summary: 'Tool bad fails often (tool_error)'
              description: 'Tool bad failed with error kind tool_error at 1 per second over the last 5 minutes (threshold 0.1/s).'
              runbook: ${JSON.stringify(annotation('HighToolErrorRate', 'runbook'))}
      - eval_time: 10m
        alertname: ToolTimeoutSpike
        exp_alerts:
          - exp_labels: { severity: warning, tool_id: bad }
            exp_annotations:
              summary: 'Tool bad times out in 10% of executions'
              description: '10% of the executions of tool bad hit their deadline over the last 5 minutes (threshold 5 %).'
              runbook: ${JSON.stringify(annotation('ToolTimeoutSpike', 'runbook'))}
      - eval_time: 4m
        alertname: SlowToolExecution
        exp_alerts: []
      - eval_time: 10m
        alertname: SlowToolExecution
        exp_alerts:
          - exp_labels: { severity: warning, tool_id: bad }
            exp_annotations:
              summary: 'Tool bad p95 latency is 30 s or more'
              description: ${JSON.stringify(annotation('SlowToolExecution', 'description'))}
              runbook: ${JSON.stringify(annotation('SlowToolExecution', 'runbook'))}
`;

// A folded (`>-`) annotation of alerts.yml as Prometheus renders it for tool `bad`.
function annotation(alert: string, key: string): string {
  const text = readFileSync(ALERTS_FILE, 'utf8');
  const start = text.indexOf(`- alert: ${alert}`);
  const at = text.indexOf(`${key}: >-\n`, start);
  const lines: string[] = [];
  for (const line of text.slice(at).split('\n').slice(1)) {
    if (!line.startsWith('            ')) break;
    lines.push(line.trim());
  }
  return lines.join(' ').replaceAll('{{ $labels.tool_id }}', 'bad');
}

describe.skipIf(promtool === undefined && !requireAll)('alerts.yml', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('passes promtool check rules', async () => {
    expect(promtool, 'promtool (TOOLCAGE_REQUIRE_ALL=1)').toBeDefined();
    const { stdout } = await run(promtool!, ['check', 'rules', ALERTS_FILE]);
    expect(stdout).toContain('SUCCESS: 3 rules found');
  });

  test('fires for a failing, timing-out, slow tool and not for a healthy one (promtool test rules)', async () => {
    expect(promtool).toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'promtool-test-'));
    dirs.push(dir);
    const testFile = join(dir, 'alerts.test.yml');
    await writeFile(testFile, RULE_TESTS(ALERTS_FILE));
    const result = await run(promtool!, ['test', 'rules', testFile]).catch(
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
  });
});

describe('dashboard.json', () => {
  interface Panel {
    title: string;
    datasource?: { uid?: string };
    targets?: { expr?: string; datasource?: { uid?: string } }[];
  }
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    schemaVersion: number;
    uid: string;
    panels: Panel[];
    templating: { list: { name: string; type: string; query?: unknown }[] };
  };

  test('is a Grafana dashboard with a Prometheus data-source variable used by every query', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toBe('toolcage-executions');
    const variable = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of dashboard.panels) {
      expect(panel.datasource?.uid).toBe('${DS_PROMETHEUS}');
      for (const target of panel.targets ?? [])
        expect(target.datasource?.uid).toBe('${DS_PROMETHEUS}');
    }
  });

  test('has the panels of DESIGN.md, on the DESIGN metric names', () => {
    const exprs = (title: RegExp): string =>
      dashboard.panels
        .filter((panel) => title.test(panel.title))
        .flatMap((panel) => (panel.targets ?? []).map((t) => t.expr ?? ''))
        .join('\n');
    const latency = exprs(/latency/i);
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(latency).toContain(
        `histogram_quantile(${q}, sum by (le, tool_id) (rate(runtime_tool_execute_seconds_bucket`,
      );
    }
    expect(exprs(/error rate by kind/i)).toMatch(
      /sum by \(error_kind\) \(rate\(runtime_tool_errors_total/,
    );
    expect(exprs(/timeout rate/i)).toContain('runtime_tool_timeouts_total');
    expect(exprs(/exits/i)).toMatch(
      /sum by \(status, code, signal\) \(rate\(runtime_bun_process_exits_total/,
    );
    expect(exprs(/output size p99/i)).toContain(
      'histogram_quantile(0.99, sum by (le, tool_id) (rate(runtime_tool_output_bytes_bucket',
    );
    expect(exprs(/network requests/i)).toContain(
      'sum by (tool_id, decision) (rate(runtime_tool_network_requests_total',
    );
    expect(exprs(/permission denials/i)).toContain(
      'sum by (tool_id, operation) (rate(runtime_tool_permission_denials_total',
    );
  });
});
