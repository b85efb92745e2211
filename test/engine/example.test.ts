/**
 * examples/engine-http.ts, run as the README says (vite-node, the built package), on 127.0.0.1
 * and free ports: its HTTP answers, its metrics endpoint, and a real Prometheus scraping it —
 * every engine metric under its exact name, every rule of engine-alerts.yml and every query of
 * engine-dashboard.json returning data. Traffic goes to 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EngineMetricBuckets, EnginePrometheusMetricNames } from '../../src/engine/engine-names.js';
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
import { toolcageCgroups, toolcageTempDirs, toolProcesses } from '../helpers/leaks.js';
import { TEST_SANDBOX } from '../helpers/runtime.js';
import { until } from '../helpers/until.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/engine-http.ts');
const ENGINE_ALERTS_FILE = join(ROOT, 'observability/engine-alerts.yml');
const ENGINE_DASHBOARD_FILE = join(ROOT, 'observability/engine-dashboard.json');

const binary = prometheusForTests('the real-Prometheus part of test/engine/example.test.ts');

interface RunningExample {
  readonly child: ChildProcess;
  readonly url: string;
  readonly metricsUrl: string;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// Starts the example with vite-node, as the README shows, and waits for its "listening" line.
async function startExample(): Promise<RunningExample> {
  expect(
    existsSync(join(ROOT, 'dist/engine/index.js')),
    'the example imports the built package: run `npm run build`',
  ).toBe(true);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('OTEL_')) env[name] = value; // no OTLP push from the test
  }
  const child = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/vite-node/vite-node.mjs'), EXAMPLE],
    {
      cwd: ROOT,
      env: { ...env, PORT: '0', METRICS_PORT: '0', TOOLCAGE_SANDBOX: TEST_SANDBOX },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const line = /engine example: (http:\/\/127\.0\.0\.1:\d+) \(metrics: (http:\/\/\S+\/metrics)\)/;
  try {
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`the example exited:\n${output}`);
        return line.test(output);
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the example to listen' },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const [, url, metricsUrl] = line.exec(output)!;
  return { child, url: url!, metricsUrl: metricsUrl!, output: () => output, exited };
}

async function post(url: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: await response.json() };
}

test("docs/engine.md's excerpt of the example is the file as it stands", () => {
  const doc = readFileSync(join(ROOT, 'docs/engine.md'), 'utf8');
  const at = doc.indexOf('Its workflow route, as it stands in the file:');
  expect(at).toBeGreaterThan(0);
  const block = /```ts\n([\s\S]*?)```/.exec(doc.slice(at))![1]!;
  // Line by line, indentation aside (the excerpt is dedented).
  const lines = (text: string): string[] => text.split('\n').map((line) => line.trim());
  const excerpt = lines(block).filter(Boolean).join('\n');
  expect(excerpt.split('\n').length).toBeGreaterThan(5);
  expect(lines(readFileSync(EXAMPLE, 'utf8')).join('\n')).toContain(excerpt);
});

describe('examples/engine-http.ts', () => {
  let example: RunningExample;
  // The first round of traffic, sent by whichever test needs it first: each test also runs
  // alone (-t), and the Prometheus part adds the second round itself.
  let firstRound: Promise<void> | undefined;

  // One round of traffic: every kind of answer the example gives.
  async function traffic(): Promise<void> {
    const { url } = example;
    const answers = await Promise.all([
      post(`${url}/tools/word-count`, { text: 'one two three' }),
      post(`${url}/tools/word-count/async`, { text: 'four' }),
      post(`${url}/tools/no-such-tool`, {}),
      post(`${url}/workflows/report/sync?runMs=150`),
      post(`${url}/workflows/report/sync?runMs=5000&timeoutMs=300`),
      post(`${url}/workflows/report/sync?runMs=50&fail`),
      post(`${url}/workflows/report/async`),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 202, 404, 200, 504, 502, 202]);
    expect(answers[0].body).toMatchObject({ output: { words: 3 } });
    expect(answers[2].body).toMatchObject({ error: 'tool_not_found' });
    expect(answers[3].body).toMatchObject({ execId: expect.any(String) as unknown });
    expect(answers[4].body).toMatchObject({
      error: 'timeout',
      message: expect.stringMatching(
        /^Workflow `report` did not complete within 300 ms \(\d+ polls, last state `RUNNING`\)$/,
      ) as unknown,
    });
    expect(answers[5].body).toMatchObject({ error: 'poll_failed' });
  }

  const afterFirstRound = (): Promise<void> => (firstRound ??= traffic());

  beforeAll(async () => {
    example = await startExample();
  }, 90_000);

  afterAll(async () => {
    if (example === undefined) return;
    // The example's runtime makes its temp dirs and cgroups under its own owner tag.
    const stat = readFileSync(`/proc/${example.child.pid}/stat`, 'utf8');
    const owner = `${example.child.pid}-${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
    // A tool still running when the signal comes (accepted, not finished).
    expect((await post(`${example.url}/tools/word-count/async`, { text: 'late' })).status).toBe(
      202,
    );
    example.child.kill('SIGTERM');
    const killer = setTimeout(() => example.child.kill('SIGKILL'), 15_000);
    const { code, signal } = await example.exited;
    clearTimeout(killer);
    // It shuts down on SIGTERM by itself — server, runtime (its tool processes), telemetry —
    // and then ends on its own.
    expect(example.output()).toContain('engine example: closed\n');
    expect({ code, signal }, example.output()).toEqual({ code: 0, signal: null });
    // …having left nothing: no tool process, no temp dir, no cgroup.
    expect(toolProcesses()).toEqual([]);
    expect(toolcageTempDirs(undefined, undefined, owner)).toEqual([]);
    expect(toolcageCgroups(owner, true)).toEqual([]);
  }, 30_000);

  test('answers synchronously for tools and workflows, and accepts asynchronous starts', async () => {
    await afterFirstRound();
  });

  test('its Prometheus endpoint shows the engine metrics under their exact names and types', async () => {
    await afterFirstRound();
    const text = await (await fetch(example.metricsUrl)).text();
    for (const [name, type] of [
      [EnginePrometheusMetricNames.workflowSyncPolls, 'counter'],
      [EnginePrometheusMetricNames.workflowSyncPollDuration, 'histogram'],
      [EnginePrometheusMetricNames.httpExecStarted, 'counter'],
      ['runtime_tool_execute_seconds', 'histogram'],
    ] as const) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(text).toMatch(
      /^workflow_sync_polls_total\{workflow_id="report",outcome="timeout"\} \d+$/m,
    );
    expect(text).toMatch(/^http_exec_started_total\{kind="task"\} 1$/m);
    expect(text).toMatch(/^http_exec_started_total\{kind="workflow"\} 1$/m);
    expect(text).toMatch(
      /^workflow_sync_poll_duration_seconds_bucket\{workflow_id="report",le="300"\} 3$/m,
    );
  });

  describe.skipIf(binary === undefined)('a real Prometheus scraping it', () => {
    let prometheus: PrometheusServer;

    const samples = (expr: string): Promise<Sample[]> => querySamples(prometheus, expr);

    beforeAll(async () => {
      prometheus = await startPrometheus({
        target: example.metricsUrl,
        ruleFiles: [ENGINE_ALERTS_FILE],
      });
      await afterFirstRound();
      await scrapeTwoRounds(prometheus, {
        round: traffic,
        firstRoundDone: true,
        firstSeries: EnginePrometheusMetricNames.workflowSyncPolls,
        counted: `${EnginePrometheusMetricNames.workflowSyncPollDuration}_count`,
        total: () => 6,
        rising: `${EnginePrometheusMetricNames.workflowSyncPolls}{outcome="timeout"}`,
      });
    }, 90_000);

    afterAll(async () => {
      await prometheus?.close();
    });

    test('workflow_sync_polls_total: counter with workflow_id and the three outcomes', async () => {
      const name = EnginePrometheusMetricNames.workflowSyncPolls;
      expect(await prometheus.metadataType(name)).toBe('counter');
      const polls = await samples(name);
      expect(polls.map((s) => s.metric['outcome']).sort()).toEqual([
        'completed',
        'error',
        'timeout',
      ]);
      for (const sample of polls) {
        expect(Object.keys(sample.metric).sort()).toEqual([
          '__name__',
          'instance',
          'job',
          'outcome',
          'workflow_id',
        ]);
        expect(sample.metric['workflow_id']).toBe('report');
        // Two waits of each outcome, at least one poll each.
        expect(Number(sample.value)).toBeGreaterThanOrEqual(2);
      }
    });

    test('workflow_sync_poll_duration_seconds: histogram with workflow_id and the seed buckets', async () => {
      const name = EnginePrometheusMetricNames.workflowSyncPollDuration;
      expect(await prometheus.metadataType(name)).toBe('histogram');
      const buckets = await samples(`${name}_bucket`);
      expect(sortedLe(buckets.map((s) => s.metric['le']))).toEqual([
        ...EngineMetricBuckets.workflowSyncPollDuration.map(String),
        '+Inf',
      ]);
      expect(buckets.map((s) => s.metric['le'])).toContain('0.1');
      const counts = await samples(`${name}_count`);
      expect(counts.map((s) => [s.metric['workflow_id'], Number(s.value)])).toEqual([
        ['report', 6],
      ]);
    });

    test('http_exec_started_total: counter by kind', async () => {
      const name = EnginePrometheusMetricNames.httpExecStarted;
      expect(await prometheus.metadataType(name)).toBe('counter');
      const started = await samples(name);
      expect(Object.fromEntries(started.map((s) => [s.metric['kind'], Number(s.value)]))).toEqual({
        task: 2,
        workflow: 2,
      });
    });

    test.each(alertExpressions(ENGINE_ALERTS_FILE))(
      'alert $alert: its expression evaluates and returns data',
      async ({ expr }) => expectAlertReturnsData(prometheus, expr),
    );

    test('engine-alerts.yml: three rules, loaded and evaluated by Prometheus without error', async () => {
      const names = ['WorkflowSyncWaitTimeouts', 'WorkflowSyncWaitErrors', 'WorkflowSyncSlowWaits'];
      expect(alertExpressions(ENGINE_ALERTS_FILE).map((a) => a.alert)).toEqual(names);
      await expectRulesHealthy(prometheus, names);
    });

    test('engine-dashboard.json: every panel query evaluates and returns data', async () => {
      const expressions = dashboardExpressions(ENGINE_DASHBOARD_FILE);
      expect(expressions.length).toBeGreaterThanOrEqual(8);
      expect(await emptyDashboardQueries(prometheus, ENGINE_DASHBOARD_FILE)).toEqual([]);
      // Execution latency by kind: a series for each kind the example has.
      const latency = expressions.find((e) => e.expr.startsWith('histogram_quantile(0.95'))!;
      expect((await samples(latency.expr)).map((s) => s.metric['kind']).sort()).toEqual([
        'tool',
        'workflow',
      ]);
    });
  });
});
