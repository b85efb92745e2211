/**
 * Readers of the operations files (observability/*) for the tests that evaluate them against a
 * real Prometheus: the alert expressions, the dashboard queries with Grafana's variables
 * substituted, and small helpers over query answers.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { findPrometheus, type PrometheusServer, type Sample } from './prometheus.js';
import { until } from './until.js';

/** The `expr` of every rule in a rules file (a small reader for its layout: `expr: >-` blocks or one line). */
export function alertExpressions(file: string): { alert: string; expr: string }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
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

/**
 * Every target `expr` of every panel of a dashboard, with Grafana's variables substituted:
 * `$__rate_interval` → `1m`, any other `$name` / `${name}` → `.*` (the "All" value).
 */
export function dashboardExpressions(file: string): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
    panels: { title: string; targets?: { expr?: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: panel.title,
      expr: (target.expr ?? '')
        .replaceAll('$__rate_interval', '1m')
        .replace(/\$\{\w+\}|\$\w+/g, '.*'),
    })),
  );
}

/** "expr > 30" (or ">= 30") → { base: "expr", threshold: 30 }. */
export function splitThreshold(expr: string): { base: string; threshold: number } {
  const match = /^([\s\S]*?)\s*>=?\s*([0-9.]+)\s*$/.exec(expr);
  if (match === null) throw new Error(`alert expression without a "> threshold": ${expr}`);
  return { base: match[1]!, threshold: Number(match[2]) };
}

/** `le` label values in bucket order ('+Inf' last). */
export const sortedLe = (values: Iterable<string | undefined>): (string | undefined)[] =>
  [...new Set(values)].sort(
    (a, b) => (a === '+Inf' ? Infinity : Number(a)) - (b === '+Inf' ? Infinity : Number(b)),
  );

/** The samples with a finite value. */
export const finite = (samples: Sample[]): Sample[] =>
  samples.filter((s) => Number.isFinite(Number(s.value)));

// How long to wait for Prometheus (a scrape, an evaluation) and how often to look.
const PROMETHEUS_WAIT = { timeoutMs: 30_000, intervalMs: 250 } as const;

/** The samples of an instant query (an error naming the query when Prometheus refuses it). */
export async function querySamples(prometheus: PrometheusServer, expr: string): Promise<Sample[]> {
  const answer = await prometheus.query(expr);
  if (!answer.ok) throw new Error(`query failed: ${expr}\n${answer.error}`);
  return answer.samples;
}

/**
 * An alert expression "returns data": evaluated without its threshold comparison it gives at
 * least one finite series above 0, and with the threshold lowered to 0 at least one series.
 */
export async function expectAlertReturnsData(
  prometheus: PrometheusServer,
  expr: string,
): Promise<void> {
  const { base, threshold } = splitThreshold(expr);
  expect(threshold).toBeGreaterThan(0);
  const values = finite(await querySamples(prometheus, base));
  expect(values.length, `no finite series for: ${base}`).toBeGreaterThan(0);
  expect(values.some((s) => Number(s.value) > 0)).toBe(true);
  const lowered = await querySamples(prometheus, `${base} > 0`);
  expect(lowered.length, `nothing above 0 for: ${base}`).toBeGreaterThan(0);
}

/** Waits until every loaded rule was evaluated; then they must be `names`, all healthy. */
export async function expectRulesHealthy(
  prometheus: PrometheusServer,
  names: readonly string[],
): Promise<void> {
  await until(
    async () => (await prometheus.rules()).every((rule) => !rule.lastEvaluation.startsWith('0001')),
    { ...PROMETHEUS_WAIT, what: 'rule evaluation' },
  );
  const rules = await prometheus.rules();
  expect(rules.map((rule) => rule.name).sort()).toEqual([...names].sort());
  for (const rule of rules)
    expect({ name: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
      name: rule.name,
      health: 'ok',
      error: '',
    });
}

/** The queries of a dashboard that give no finite sample, as "panel: expr". */
export async function emptyDashboardQueries(
  prometheus: PrometheusServer,
  file: string,
): Promise<string[]> {
  const empty: string[] = [];
  for (const { panel, expr } of dashboardExpressions(file)) {
    if (finite(await querySamples(prometheus, expr)).length === 0) empty.push(`${panel}: ${expr}`);
  }
  return empty;
}

/**
 * The Prometheus binary for a test file's real-Prometheus part, called at the file's top level.
 * It registers a test that fails under TOOLCAGE_REQUIRE_ALL=1 when the binary is missing (and is
 * skipped otherwise); elsewhere a missing binary is a loud warning naming `part` (the caller
 * skips that part).
 */
export function prometheusForTests(part: string): string | undefined {
  const binary = findPrometheus();
  const requireAll = process.env['TOOLCAGE_REQUIRE_ALL'] === '1';
  if (binary === undefined && !requireAll) {
    console.warn(
      `\n*** SKIPPED: ${part} — no prometheus binary (apt-get install prometheus, ` +
        'or set PROMETHEUS_BIN). Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure. ***\n',
    );
  }
  // Skipped (and reported so) unless TOOLCAGE_REQUIRE_ALL=1, where it fails the run.
  test.runIf(requireAll)('prometheus is available (required when TOOLCAGE_REQUIRE_ALL=1)', () => {
    expect(binary, 'prometheus binary (TOOLCAGE_REQUIRE_ALL=1)').toBeDefined();
  });
  return binary;
}

/** Options of {@link scrapeTwoRounds}. */
export interface ScrapeTwoRoundsOptions {
  /** One round of traffic. */
  readonly round: () => unknown;
  /** The first round already ran before (it is not run again). @default false */
  readonly firstRoundDone?: boolean;
  /** A selector with series once a scrape has seen the first round. */
  readonly firstSeries: string;
  /** A selector whose `sum` is `total()` once Prometheus holds the second round. */
  readonly counted: string;
  /** What `sum(counted)` is after both rounds (read after the second round ran). */
  readonly total: () => number;
  /** A counter selector whose `rate(…[1m])` must have a series above 0. */
  readonly rising: string;
}

/**
 * Rates need an increase between two scrapes: a first round of traffic, a scrape that sees it,
 * a second round, Prometheus holding it, then a scrape with non-zero rates over it.
 */
export async function scrapeTwoRounds(
  prometheus: PrometheusServer,
  options: ScrapeTwoRoundsOptions,
): Promise<void> {
  if (options.firstRoundDone !== true) await options.round();
  await until(async () => (await querySamples(prometheus, options.firstSeries)).length > 0, {
    ...PROMETHEUS_WAIT,
    what: 'the first scrape',
  });
  await options.round();
  const total = options.total();
  await until(
    async () =>
      Number((await querySamples(prometheus, `sum(${options.counted})`))[0]?.value) === total,
    { ...PROMETHEUS_WAIT, what: 'the second round in Prometheus' },
  );
  await until(
    async () =>
      finite(await querySamples(prometheus, `rate(${options.rising}[1m]) > 0`)).length > 0,
    { ...PROMETHEUS_WAIT, what: 'non-zero rates' },
  );
}

/** A Grafana dashboard file, as far as the tests read it. */
export interface Dashboard {
  readonly schemaVersion: number;
  readonly uid: string;
  readonly panels: {
    title: string;
    type: string;
    datasource?: { uid?: string };
    targets?: { expr?: string; datasource?: { uid?: string } }[];
  }[];
  readonly templating: { list: { name: string; type: string; query?: unknown }[] };
}

/** The dashboard in `file`. */
export const readDashboard = (file: string): Dashboard =>
  JSON.parse(readFileSync(file, 'utf8')) as Dashboard;

/** The queries of the panels whose title matches, one per line. */
export const panelExprs = (dashboard: Dashboard, title: RegExp): string =>
  dashboard.panels
    .filter((panel) => title.test(panel.title))
    .flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''))
    .join('\n');

/** A Grafana dashboard (schema 39+) with uid `uid` and a Prometheus data-source variable used by every query. */
export function expectGrafanaDashboard(dashboard: Dashboard, uid: string): void {
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  expect(dashboard.uid).toBe(uid);
  const variable = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
  expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
  for (const panel of dashboard.panels) {
    expect(panel.datasource?.uid).toBe('${DS_PROMETHEUS}');
    for (const target of panel.targets ?? [])
      expect(target.datasource?.uid).toBe('${DS_PROMETHEUS}');
  }
}
