import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { MetricNames } from '../src/telemetry/names.js';
import { toolcageCgroups, toolcageTempDirs, toolProcesses } from './helpers/leaks.js';
import { startOtlpReceiver } from './helpers/otlp-receiver.js';
import { FIXTURES, TEST_SANDBOX } from './helpers/runtime.js';

// The CLI as users run it: the built bin (npm test builds first, see "pretest").
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const fixture = (name: string): string => `${FIXTURES}${name}`;
const sandbox = ['--sandbox', TEST_SANDBOX];

describe('toolcage run --json', () => {
  test('success prints exactly one JSON object and exits 0', async () => {
    const run = await cli([
      'run',
      fixture('ok-sync.ts'),
      '--input',
      '{"a":1}',
      '--json',
      ...sandbox,
    ]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const body = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(body).toMatchObject({
      ok: true,
      output: { echo: { a: 1 } },
      exitCode: 0,
      outputBytes: JSON.stringify({ echo: { a: 1 } }).length,
    });
    expect(Object.keys(body).sort()).toEqual([
      'durationMs',
      'enforcement',
      'exitCode',
      'ok',
      'output',
      'outputBytes',
    ]);
  });

  test.each([
    ['throws.ts', [], 'tool_error'],
    ['forever.ts', ['--timeout-ms', '300'], 'timeout'],
    ['crash-exit.ts', [], 'crashed'],
    ['huge-output.ts', ['--max-output-bytes', '1000000'], 'output_limit'],
    ['junk-fd3.ts', [], 'invalid_output'],
    ['no-default.ts', [], 'tool_not_found'],
    ['missing.ts', [], 'tool_not_found'],
  ])('%s fails with exit 1 and kind', async (file, extra, kind) => {
    const run = await cli(['run', fixture(file), ...extra, '--json', ...sandbox]);
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as {
      ok: boolean;
      error: { kind: string; message: string };
      durationMs: number;
    };
    expect(body.ok).toBe(false);
    expect(body.error.kind).toBe(kind);
    expect(typeof body.durationMs).toBe('number');
  });

  test('a junk-printing tool still returns its value', async () => {
    const run = await cli(['run', fixture('stdout-junk.ts'), '--json', ...sandbox]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, output: { value: 42 } });
  });

  test('a host secret does not reach the tool', async () => {
    const run = await cli(
      [
        'run',
        fixture('env-reader.ts'),
        '--input',
        '{"names":["SECRET_TOKEN"]}',
        '--json',
        ...sandbox,
      ],
      { SECRET_TOKEN: 'leak-me' },
    );
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      output: { seen: { SECRET_TOKEN: null } },
    });
  });
});

describe('toolcage run (human)', () => {
  test('prints the output, and on failure one line naming the kind', async () => {
    const ok = await cli(['run', fixture('unicode.ts'), '--input', '{"text":"héllo"}', ...sandbox]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ text: 'héllo', length: 5 });
    const failed = await cli(['run', fixture('throws.ts'), ...sandbox]);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n').at(-1)).toMatch(
      /^toolcage: tool_error: Tool `throws` threw: Error: the weather service said no$/,
    );
  });
});

describe('toolcage run stopped by a signal', () => {
  test('SIGTERM kills the tool and removes its sandbox, then exits 128 + 15 saying it was cancelled', async () => {
    const child = spawn(process.execPath, [CLI, 'run', fixture('forever.ts'), ...sandbox], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const ready = new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr += text;
        if (stderr.split('\n').includes('ready')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await ready;
    // What the CLI's runtime makes is named after it: its pid and start time.
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const owner = `${child.pid}-${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
    expect(toolcageCgroups(owner).length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(128 + 15);
    expect(stderr).toMatch(
      /toolcage: cancelled: Tool `forever` was cancelled: the runtime was closed/,
    );
    expect(toolcageCgroups(owner)).toEqual([]);
    expect(toolcageTempDirs(tmpdir(), [], owner)).toEqual([]);
    expect(toolProcesses(owner)).toEqual([]);
  });
});

describe('toolcage run --tmp-mb', () => {
  test('caps the scratch space of a sandboxed tool', async () => {
    const run = await cli(['run', fixture('fill-tmp.ts'), '--tmp-mb', '4', '--json', ...sandbox]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: false,
      error: { kind: 'resource_limit', limit: 'disk' },
    });
  });
});

describe('usage errors exit 2', () => {
  test.each([
    [['run']],
    [['run', 'a.ts', 'b.ts']],
    [['run', 'a.ts', '--input', '{bad']],
    [['run', 'a.ts', '--timeout-ms', '-5']],
    [['run', 'a.ts', '--sandbox', 'docker']],
    [['run', 'a.ts', '--tmp-mb', '0']],
    [['run', 'a.ts', '--allow-everything']],
    [['frobnicate']],
  ])('%j', async (args) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage:');
  });
});

describe('toolcage run pushes its telemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
  test('a success, a timeout, a throw and a denial deliver the metrics and their spans', async () => {
    const otlp = await startOtlpReceiver();
    try {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_SERVICE_NAME: 'cli-test' };
      const runs = [
        await cli(['run', fixture('ok-sync.ts'), '--json', ...sandbox], env),
        await cli(['run', fixture('forever.ts'), '--timeout-ms', '300', '--json', ...sandbox], env),
        await cli(['run', fixture('throws.ts'), '--allow-net', '--json', ...sandbox], env),
      ];
      // A connection the egress proxy refuses (no connection is made: the name is not allowed)
      // gives the network and denial metrics; unsandboxed there is no proxy.
      const sandboxed = TEST_SANDBOX !== 'none';
      if (sandboxed) {
        const input = JSON.stringify({ url: 'http://127.0.0.1:9/' });
        runs.push(
          await cli(
            [
              'run',
              fixture('net-fetch.ts'),
              '--allow-net=allowed.test',
              '--input',
              input,
              '--json',
            ],
            env,
          ),
        );
      }
      expect(runs.map((run) => run.code)).toEqual(sandboxed ? [0, 1, 1, 1] : [0, 1, 1]);
      // A one-shot run flushes before it exits: everything is there once the CLI has returned.
      const names = new Set(otlp.metrics().map((metric) => metric.name));
      const network: string[] = [MetricNames.networkRequests, MetricNames.permissionDenials];
      expect([...names].sort()).toEqual(
        Object.values(MetricNames)
          .filter((name) => sandboxed || !network.includes(name))
          .sort(),
      );
      const spans = otlp.spans();
      expect(spans.map((span) => span.name)).toEqual(
        Array(runs.length).fill('runtime.execute_tool'),
      );
      const byTool = Object.fromEntries(
        spans.map((span) => [String(span.attributes['tool_id']), span] as const),
      );
      for (const span of spans) {
        expect(span.resource['service.name']).toBe('cli-test');
        expect(typeof span.attributes['bun_version']).toBe('string');
        expect(Array.isArray(span.attributes['permissions'])).toBe(true);
      }
      expect(byTool['ok-sync']?.attributes).toMatchObject({ timeout_ms: 60_000, exit_code: 0 });
      expect(byTool['forever']?.attributes).toMatchObject({
        timeout_ms: 300,
        error_kind: 'timeout',
      });
      expect(byTool['throws']?.attributes).toMatchObject({
        error_kind: 'tool_error',
        permissions: ['--allow-net'],
      });
      expect(byTool['throws']?.status.code).toBe(2);
    } finally {
      await otlp.close();
    }
  });
});
