import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MetricNames } from '../src/telemetry/names.js';
import { toolcageCgroups, toolcageTempDirs, toolProcesses } from './helpers/leaks.js';
import { startOtlpReceiver } from './helpers/otlp-receiver.js';
import { makeProject, SECRETS, type Project } from './helpers/project.js';
import { FIXTURES, TEST_SANDBOX } from './helpers/runtime.js';

// The CLI as users run it: the built bin (npm test builds first, see "pretest").
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        // XDG_CACHE_HOME (vitest.config.ts): the tests' build cache, not the user's.
        env: { ...process.env, ...env },
        maxBuffer: 64 << 20,
        ...(cwd === undefined ? {} : { cwd }),
      },
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

describe.skipIf(TEST_SANDBOX === 'none')('toolcage in a tool project', () => {
  let project: Project;
  let xdg = '';
  const inProject = (args: readonly string[]): Promise<CliRun> =>
    cli(args, { XDG_CACHE_HOME: xdg }, project.root);
  beforeEach(() => {
    project = makeProject();
    xdg = `${project.root}-xdg`;
  });
  afterEach(() => {
    project.remove();
    rmSync(xdg, { recursive: true, force: true });
  });

  test('run tools/validate.ts succeeds sandboxed with no --allow-read; a tool reading ./.env gets no secret', async () => {
    const run = await inProject([
      'run',
      'tools/validate.ts',
      '--input',
      '{"city":"Lyon","days":3}',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      city: 'LYON',
      days: '3 days',
      range: '2025-06-01..2025-06-04',
    });
    const json = await inProject([
      'run',
      'tools/validate.ts',
      '--input',
      '{"city":"Lyon","days":3}',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      enforcement: { sandbox: 'bwrap', filesystem: 'bundle' },
    });
    const secret = await inProject([
      'run',
      'tools/reader.ts',
      '--input',
      '{"path":".env"}',
      '--json',
    ]);
    expect(secret.code).toBe(1);
    expect(secret.stdout + secret.stderr).not.toContain(SECRETS.toolEnv);
    expect(JSON.parse(secret.stdout)).toMatchObject({
      ok: false,
      error: {
        kind: 'permission_denied',
        message: expect.stringContaining(`read of ${project.path('tools/.env')}`) as unknown,
      },
    });
  });

  test('build compiles ahead of time: one line per tool, its inputs and bundle with --verbose', async () => {
    const built = await inProject(['build', 'tools/validate.ts']);
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(
      /^validate {2}tools\/validate\.ts {2}\d+ inputs, \d+\.\d KiB, built in \d+ ms\n$/,
    );
    // Found built: the time is said to be the build's, not this command's.
    const again = await inProject(['build', 'tools/validate.ts', '--verbose']);
    const lines = again.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^validate {2}tools\/validate\.ts {2}\d+ inputs, \d+\.\d KiB, already built \(the build took \d+ ms\)$/,
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        '    tools/validate.ts',
        '    node_modules/zodlet/index.js',
        '    packages/units/index.ts',
        '    tsconfig.json',
      ]),
    );
    expect(again.stdout).toMatch(
      new RegExp(
        `\n  bundle: ${xdg}/toolcage/v2/bundles/([0-9a-f])/([0-9a-f])/\\1\\2[0-9a-f]{62}\\.js\n$`,
      ),
    );
    const json = await inProject(['build', 'tools/validate.ts', '--json']);
    const body = JSON.parse(json.stdout) as { ok: boolean; tools: Array<Record<string, unknown>> };
    expect(body.ok).toBe(true);
    expect(body.tools[0]).toMatchObject({ id: 'validate', ok: true, bundled: true, cached: true });
    expect(body.tools[0]!['inputs']).toContain('node_modules/datelet/dist/format.js');
  });

  test('build --registry builds every registered tool and fails when one cannot be built', async () => {
    project.write(
      'tools/broken.ts',
      "import x from 'no-such-package-4242';\nexport default () => x;\n",
    );
    project.write(
      'toolcage.json',
      JSON.stringify({
        tools: {
          validate: { path: 'tools/validate.ts' },
          reader: { path: 'tools/reader.ts', bundle: false },
          broken: { path: 'tools/broken.ts' },
        },
      }),
    );
    const run = await inProject(['build', '--registry', 'toolcage.json', '--json']);
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as { ok: boolean; tools: Array<Record<string, unknown>> };
    expect(body.ok).toBe(false);
    expect(body.tools.map((tool) => [tool['id'], tool['ok'], tool['bundled']])).toEqual([
      ['validate', true, true],
      ['reader', true, false],
      ['broken', false, true],
    ]);
    expect(body.tools[2]!['error']).toMatchObject({
      kind: 'tool_error',
      message:
        "Tool `broken` could not be built: Cannot resolve 'no-such-package-4242' from tools/broken.ts (is it installed?)",
    });
  });

  test('doctor shows where the build cache is and how large', async () => {
    await inProject(['build', 'tools/validate.ts']);
    const text = await inProject(['doctor']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `build cache: ${xdg}/toolcage \\(1 entries, \\d+\\.\\d MiB of at most 256\\.0 MiB\\)`,
      ),
    );
    const json = JSON.parse((await inProject(['doctor', '--json'])).stdout) as {
      cache: { dir: string; bytes: number; entries: number };
    };
    expect(json.cache).toMatchObject({ dir: `${xdg}/toolcage`, entries: 1 });
    expect(json.cache.bytes).toBeGreaterThan(0);
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
    [['build']],
    [['build', 'a.ts', '--registry', 'r.json']],
    [['build', '--registry', '/nonexistent/toolcage.json']],
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
