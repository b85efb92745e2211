/**
 * The operations files on their own: alerts.yml and engine-alerts.yml pass `promtool check rules`
 * and fire (and stay quiet) as intended under `promtool test rules`; dashboard.json and
 * engine-dashboard.json have their panels and the data-source variable. That their queries
 * return data from a real Prometheus is prometheus.test.ts's job (and test/engine/'s for the
 * engine files).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { expectGrafanaDashboard, panelExprs, readDashboard } from '../helpers/observability.js';
import {
  foldedAnnotation,
  promtoolCheck,
  promtoolForTests,
  promtoolTest,
  ruleTestsHead,
} from '../helpers/promtool.js';

const ALERTS_FILE = fileURLToPath(new URL('../../observability/alerts.yml', import.meta.url));
const DASHBOARD_FILE = fileURLToPath(
  new URL('../../observability/dashboard.json', import.meta.url),
);
const ENGINE_ALERTS_FILE = fileURLToPath(
  new URL('../../observability/engine-alerts.yml', import.meta.url),
);
const ENGINE_DASHBOARD_FILE = fileURLToPath(
  new URL('../../observability/engine-dashboard.json', import.meta.url),
);

const { promtool, skip } = promtoolForTests('observability/alerts.yml');

// Series for `promtool test rules`, one sample a minute for 20 minutes. Tool `bad`: 1
// execution/s, all failing (tool_error), 10 % timing out, all slower than 30 s. Tool `good`:
// 1 execution/s, all under 0.1 s, no failures. Each alert must fire for `bad` only.
const RULE_TESTS = (rulesFile: string): string => `${ruleTestsHead(rulesFile)}
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

/**
 * A folded (`>-`) annotation of a rules file as Prometheus renders it: its lines joined, each
 * `{{ … }}` template replaced by what `values` gives for it (default: tool `bad`).
 */
function annotation(
  alert: string,
  key: string,
  file = ALERTS_FILE,
  values: Record<string, string> = { '$labels.tool_id': 'bad' },
): string {
  return foldedAnnotation(file, alert, key).replace(
    /\{\{ ([^}]+?) \}\}/g,
    (template, inner: string) => {
      const value = values[inner];
      if (value === undefined) throw new Error(`no value for ${template} in ${alert}.${key}`);
      return value;
    },
  );
}

// Series for `promtool test rules` of engine-alerts.yml, one sample a minute for 20 minutes.
// Workflow `slow`: 60 polls/min by completed waits and 60 by timed-out ones (50 %), 2 waits/min
// all between 30 and 60 s. `broken`: 60 polls/min completed, 60 in waits that ended in error,
// waits under 1 s. `good`: 60 polls/min, all completed, waits under 1 s. Each alert must fire
// for its workflow only.
const ENGINE_RULE_TESTS = (rulesFile: string): string => {
  const values = (workflow: string, value = '50%'): Record<string, string> => ({
    '$labels.workflow_id': workflow,
    '$value | humanizePercentage': value,
    '$value | humanizeDuration': '58.5s',
  });
  const expected = (alert: string, workflow: string): string => `
          - exp_labels: { severity: warning, workflow_id: ${workflow} }
            exp_annotations:
              summary: ${JSON.stringify(annotationLine(alert, 'summary', workflow))}
              description: ${JSON.stringify(annotation(alert, 'description', ENGINE_ALERTS_FILE, values(workflow)))}
              runbook: ${JSON.stringify(annotation(alert, 'runbook', ENGINE_ALERTS_FILE, values(workflow)))}`;
  return `${ruleTestsHead(rulesFile)}
      - series: 'workflow_sync_polls_total{workflow_id="slow",outcome="completed"}'
        values: '0+60x20'
      - series: 'workflow_sync_polls_total{workflow_id="slow",outcome="timeout"}'
        values: '0+60x20'
      - series: 'workflow_sync_polls_total{workflow_id="broken",outcome="completed"}'
        values: '0+60x20'
      - series: 'workflow_sync_polls_total{workflow_id="broken",outcome="error"}'
        values: '0+60x20'
      - series: 'workflow_sync_polls_total{workflow_id="good",outcome="completed"}'
        values: '0+60x20'
      - series: 'workflow_sync_polls_total{workflow_id="good",outcome="timeout"}'
        values: '0x20'
      - series: 'workflow_sync_poll_duration_seconds_bucket{workflow_id="slow",le="10"}'
        values: '0x20'
      - series: 'workflow_sync_poll_duration_seconds_bucket{workflow_id="slow",le="30"}'
        values: '0x20'
      - series: 'workflow_sync_poll_duration_seconds_bucket{workflow_id="slow",le="60"}'
        values: '0+2x20'
      - series: 'workflow_sync_poll_duration_seconds_bucket{workflow_id="slow",le="+Inf"}'
        values: '0+2x20'
${['broken', 'good']
  .flatMap((workflow) =>
    ['1', '30', '+Inf'].map(
      (
        le,
      ) => `      - series: 'workflow_sync_poll_duration_seconds_bucket{workflow_id="${workflow}",le="${le}"}'
        values: '0+6x20'`,
    ),
  )
  .join('\n')}
    alert_rule_test:
      - eval_time: 3m
        alertname: WorkflowSyncWaitTimeouts
        exp_alerts: []
      - eval_time: 15m
        alertname: WorkflowSyncWaitTimeouts
        exp_alerts:${expected('WorkflowSyncWaitTimeouts', 'slow')}
      - eval_time: 15m
        alertname: WorkflowSyncWaitErrors
        exp_alerts:${expected('WorkflowSyncWaitErrors', 'broken')}
      - eval_time: 8m
        alertname: WorkflowSyncSlowWaits
        exp_alerts: []
      - eval_time: 15m
        alertname: WorkflowSyncSlowWaits
        exp_alerts:${expected('WorkflowSyncSlowWaits', 'slow')}
`;
};

// A one-line (quoted) annotation of engine-alerts.yml for `workflow`.
function annotationLine(alert: string, key: string, workflow: string): string {
  const text = readFileSync(ENGINE_ALERTS_FILE, 'utf8');
  const start = text.indexOf(`- alert: ${alert}`);
  const line = new RegExp(`^\\s*${key}: '(.*)'$`, 'm').exec(text.slice(start));
  if (line === null) throw new Error(`no one-line ${key} in ${alert}`);
  return line[1]!.replaceAll('{{ $labels.workflow_id }}', workflow);
}

describe.skipIf(skip).each([
  [
    'alerts.yml',
    ALERTS_FILE,
    'fires for a failing, timing-out, slow tool and not for a healthy one',
    RULE_TESTS,
  ],
  [
    'engine-alerts.yml',
    ENGINE_ALERTS_FILE,
    'fires for timing-out, failing and slow waits and not for healthy ones',
    ENGINE_RULE_TESTS,
  ],
])('%s', (_, file, fires, tests) => {
  test('passes promtool check rules', async () => {
    expect(promtool, 'promtool (TOOLCAGE_REQUIRE_ALL=1)').toBeDefined();
    expect(await promtoolCheck(promtool!, file)).toContain('SUCCESS: 3 rules found');
  });

  test(`${fires} (promtool test rules)`, async () => {
    expect(promtool).toBeDefined();
    expect(await promtoolTest(promtool!, tests(file))).toContain('SUCCESS');
  });
});

describe.each([
  ['dashboard.json', DASHBOARD_FILE, 'toolcage-executions'],
  ['engine-dashboard.json', ENGINE_DASHBOARD_FILE, 'toolcage-engine'],
])('%s', (_, file, uid) => {
  test('is a Grafana dashboard with a Prometheus data-source variable used by every query', () => {
    expectGrafanaDashboard(readDashboard(file), uid);
  });
});

describe('dashboard.json', () => {
  const dashboard = readDashboard(DASHBOARD_FILE);
  const exprs = (title: RegExp): string => panelExprs(dashboard, title);

  test("has the README's panels, on the README's metric names", () => {
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

describe('engine-dashboard.json', () => {
  const dashboard = readDashboard(ENGINE_DASHBOARD_FILE);
  const exprs = (title: RegExp): string => panelExprs(dashboard, title);

  test("has the seed's Execution Overview panels, on the seed's metric names", () => {
    const latency = exprs(/execution latency by kind/i);
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(latency).toContain(`histogram_quantile(${q}, sum by (le, kind) (`);
    }
    // Workflows from the wait histogram, tools from the runtime's, each labelled with its kind.
    expect(latency).toContain(
      'label_replace(rate(workflow_sync_poll_duration_seconds_bucket{workflow_id=~"$workflow_id"}[$__rate_interval]), "kind", "workflow", "", "")',
    );
    expect(latency).toContain(
      'label_replace(rate(runtime_tool_execute_seconds_bucket[$__rate_interval]), "kind", "tool", "", "")',
    );
    expect(exprs(/async started rate by kind/i)).toBe(
      'sum by (kind) (rate(http_exec_started_total[$__rate_interval]))',
    );
    const pollTime = dashboard.panels.find((panel) => /workflow poll time/i.test(panel.title));
    expect(pollTime?.type).toBe('heatmap');
    expect(exprs(/workflow poll time/i)).toContain(
      'sum by (le) (increase(workflow_sync_poll_duration_seconds_bucket',
    );
    const errors = exprs(/error rate by kind/i);
    expect(errors).toContain('workflow_sync_polls_total{outcome!="completed"');
    expect(errors).toContain('runtime_tool_errors_total');
    expect(exprs(/polls by outcome/i)).toContain(
      'sum by (workflow_id, outcome) (rate(workflow_sync_polls_total',
    );
  });

  test('a workflow_id variable whose "All" matches series without the label too', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'workflow_id') as
      { allValue?: string; definition?: string } | undefined;
    expect(variable?.definition).toBe('label_values(workflow_sync_polls_total, workflow_id)');
    // `.*` also matches the empty value: a kit created with workflowIdLabel: false still shows.
    expect(variable?.allValue).toBe('.*');
  });
});
