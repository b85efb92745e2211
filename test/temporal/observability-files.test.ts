/**
 * The Temporal operations files on their own: temporal-alerts.yml passes `promtool check rules`
 * and fires (and stays quiet) as intended under `promtool test rules`; temporal-dashboard.json
 * has the panels. That their queries return data from a real Prometheus scraping toolcage is
 * prometheus.test.ts's job.
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

const ALERTS_FILE = fileURLToPath(
  new URL('../../observability/temporal-alerts.yml', import.meta.url),
);
const DASHBOARD_FILE = fileURLToPath(
  new URL('../../observability/temporal-dashboard.json', import.meta.url),
);

const { promtool, skip } = promtoolForTests('observability/temporal-alerts.yml');

/** A folded (`>-`) annotation of the rules file as Prometheus renders it with `values`. */
function annotation(alert: string, key: string, values: Record<string, string>): string {
  let rendered = foldedAnnotation(ALERTS_FILE, alert, key);
  for (const [template, value] of Object.entries(values))
    rendered = rendered.replaceAll(template, value);
  return rendered;
}

function expected(alert: string, values: Record<string, string>): string {
  const summary = /summary: '(.*)'/.exec(
    readFileSync(ALERTS_FILE, 'utf8').slice(
      readFileSync(ALERTS_FILE, 'utf8').indexOf(`- alert: ${alert}`),
    ),
  )![1]!;
  let renderedSummary = summary;
  for (const [template, value] of Object.entries(values))
    renderedSummary = renderedSummary.replaceAll(template, value);
  return [
    `              summary: ${JSON.stringify(renderedSummary)}`,
    `              description: ${JSON.stringify(annotation(alert, 'description', values))}`,
    `              runbook: ${JSON.stringify(annotation(alert, 'runbook', values))}`,
  ].join('\n');
}

// One sample a minute for 20 minutes. Workflow type `bad`: 1 execution/s ending, 30 % failed,
// 10 % timed out, 10 % canceled, all slower than 10 s. Type `good`: 1/s, all completed under
// 0.1 s. Process `a` configured 2 workers and runs 1; process `b` runs its 1. Each alert must
// fire for `bad` (or `a`) only, and not before its `for`.
const RULE_TESTS = (rulesFile: string): string => `${ruleTestsHead(rulesFile)}
      - series: 'compozy_temporal_workflow_completed_total{workflow_type="bad"}'
        values: '0+30x20'
      - series: 'compozy_temporal_workflow_failed_total{workflow_type="bad"}'
        values: '0+18x20'
      - series: 'compozy_temporal_workflow_canceled_total{workflow_type="bad"}'
        values: '0+6x20'
      - series: 'compozy_temporal_workflow_timed_out_total{workflow_type="bad"}'
        values: '0+6x20'
      - series: 'compozy_temporal_workflow_duration_seconds_bucket{workflow_type="bad",le="10"}'
        values: '0x20'
      - series: 'compozy_temporal_workflow_duration_seconds_bucket{workflow_type="bad",le="+Inf"}'
        values: '0+60x20'
      - series: 'compozy_temporal_workflow_completed_total{workflow_type="good"}'
        values: '0+60x20'
      - series: 'compozy_temporal_workflow_failed_total{workflow_type="good"}'
        values: '0x20'
      - series: 'compozy_temporal_workflow_timed_out_total{workflow_type="good"}'
        values: '0x20'
      - series: 'compozy_temporal_workflow_duration_seconds_bucket{workflow_type="good",le="0.1"}'
        values: '0+60x20'
      - series: 'compozy_temporal_workflow_duration_seconds_bucket{workflow_type="good",le="10"}'
        values: '0+60x20'
      - series: 'compozy_temporal_workflow_duration_seconds_bucket{workflow_type="good",le="+Inf"}'
        values: '0+60x20'
      - series: 'compozy_temporal_workers_configured_total{job="w",instance="a"}'
        values: '2x20'
      - series: 'compozy_temporal_workers_running_total{job="w",instance="a"}'
        values: '1x20'
      - series: 'compozy_temporal_workers_configured_total{job="w",instance="b"}'
        values: '1x20'
      - series: 'compozy_temporal_workers_running_total{job="w",instance="b"}'
        values: '1x20'
    alert_rule_test:
      - eval_time: 3m
        alertname: HighWorkflowFailureRate
        exp_alerts: []
      - eval_time: 15m
        alertname: HighWorkflowFailureRate
        exp_alerts:
          - exp_labels: { severity: warning, workflow_type: bad }
            exp_annotations:
${expected('HighWorkflowFailureRate', { '{{ $labels.workflow_type }}': 'bad', '{{ $value | humanizePercentage }}': '30%' })}
      - eval_time: 15m
        alertname: WorkflowTimeoutSpike
        exp_alerts:
          - exp_labels: { severity: warning, workflow_type: bad }
            exp_annotations:
${expected('WorkflowTimeoutSpike', { '{{ $labels.workflow_type }}': 'bad', '{{ $value | humanizePercentage }}': '10%' })}
      - eval_time: 8m
        alertname: SlowWorkflowExecution
        exp_alerts: []
      - eval_time: 18m
        alertname: SlowWorkflowExecution
        exp_alerts:
          - exp_labels: { severity: warning, workflow_type: bad }
            exp_annotations:
${expected('SlowWorkflowExecution', { '{{ $labels.workflow_type }}': 'bad' })}
      - eval_time: 3m
        alertname: TemporalWorkersNotRunning
        exp_alerts: []
      - eval_time: 15m
        alertname: TemporalWorkersNotRunning
        exp_alerts:
          - exp_labels: { severity: critical, job: w, instance: a }
            exp_annotations:
${expected('TemporalWorkersNotRunning', { '{{ $labels.instance }}': 'a', '{{ $value }}': '1' })}
`;

describe.skipIf(skip)('temporal-alerts.yml', () => {
  test('passes promtool check rules', async () => {
    expect(promtool, 'promtool (TOOLCAGE_REQUIRE_ALL=1)').toBeDefined();
    expect(await promtoolCheck(promtool!, ALERTS_FILE)).toContain('SUCCESS: 4 rules found');
  });

  test('fires for failing, timing-out, slow workflows and a missing worker, and not otherwise (promtool test rules)', async () => {
    expect(promtool).toBeDefined();
    const output = await promtoolTest(promtool!, RULE_TESTS(ALERTS_FILE));
    expect(output, output).toContain('SUCCESS');
  });
});

describe('temporal-dashboard.json', () => {
  const dashboard = readDashboard(DASHBOARD_FILE);

  test('is a Grafana dashboard with a Prometheus data-source variable used by every query', () => {
    expectGrafanaDashboard(dashboard, 'toolcage-temporal');
  });

  test('has the panels: failure rate, p95 duration by type, running vs configured workers', () => {
    const exprs = (title: RegExp): string => panelExprs(dashboard, title);
    expect(exprs(/failure rate/i)).toMatch(
      /sum by \(workflow_type\) \(rate\(compozy_temporal_workflow_failed_total/,
    );
    expect(exprs(/p95/i)).toContain(
      'histogram_quantile(0.95, sum by (le, workflow_type) (rate(compozy_temporal_workflow_duration_seconds_bucket',
    );
    expect(exprs(/running vs configured/i)).toContain(
      'sum(compozy_temporal_workers_running_total)',
    );
    expect(exprs(/running vs configured/i)).toContain(
      'sum(compozy_temporal_workers_configured_total)',
    );
  });
});
