/**
 * `toolcage worker`: its arguments and registry file (pure), and the built CLI as operators run
 * it — usage errors, a server that cannot be reached — plus the other commands never loading the
 * Temporal packages.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { readRegistryFile } from '../../src/cli/registry-file.js';
import { parseWorkerArgs } from '../../src/cli/worker-command.js';
import { toolProcesses } from '../helpers/leaks.js';
import { FIXTURES, TEST_SANDBOX } from '../helpers/runtime.js';
import { runWatchingTemporal } from '../helpers/temporal-loads.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const built = existsSync(join(ROOT, 'dist', 'cli', 'worker.js'));
if (!built) {
  console.warn(
    '\n*** SKIPPED: the built-CLI part of test/temporal/cli-worker.test.ts — dist/ is not built (`npm run build`; `npm test` builds first). ***\n',
  );
}

const dir = mkdtempSync(join(tmpdir(), 'tc-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function registry(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const GOOD = registry('good.json', {
  tools: {
    echo: { path: `${FIXTURES}ok-sync.ts` },
    slow: { path: `${FIXTURES}forever.ts`, timeoutMs: 500 },
  },
  defaults: { limits: { memoryMb: 256 } },
  concurrency: 4,
  sandbox: TEST_SANDBOX,
  toolRoots: [FIXTURES],
});

describe('parseWorkerArgs', () => {
  test('flags, with TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE as defaults', () => {
    expect(
      parseWorkerArgs(['--task-queue', 'tools', '--registry', 'r.json', '--concurrency', '3'], {
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_NAMESPACE: 'prod',
      }),
    ).toEqual({
      taskQueue: 'tools',
      registry: 'r.json',
      address: 'temporal:7233',
      namespace: 'prod',
      concurrency: 3,
      sandbox: undefined,
      prometheusPort: undefined,
      metricsPrefix: undefined,
    });
    expect(
      parseWorkerArgs(['--task-queue', 'q', '--registry', 'r', '--address', 'a:1'], {}),
    ).toMatchObject({
      address: 'a:1',
      namespace: 'default',
    });
    expect(parseWorkerArgs(['--task-queue', 'q', '--registry', 'r'], {})).toMatchObject({
      address: 'localhost:7233',
    });
    expect(parseWorkerArgs(['--help'])).toBe('help');
  });

  test.each([
    [['--registry', 'r'], '--task-queue is required'],
    [['--task-queue', 'q'], '--registry is required'],
    [
      ['--task-queue', 'q', '--registry', 'r', '--concurrency', '0'],
      '--concurrency expects a positive integer, got `0`',
    ],
    [
      ['--task-queue', 'q', '--registry', 'r', '--sandbox', 'docker'],
      '--sandbox must be auto, bwrap or none',
    ],
    [['--task-queue', 'q', '--registry', 'r', 'extra'], 'unexpected argument `extra`'],
    [['--task-queue', 'q', '--registry', 'r', '--bogus'], "Unknown option '--bogus'"],
  ])('%j → %s', (argv, message) => {
    expect(() => parseWorkerArgs(argv, {})).toThrow(message);
  });
});

describe('readRegistryFile', () => {
  test('runtime options, relative paths from the file', () => {
    const file = registry('relative.json', { tools: { echo: { path: 'tools/echo.ts' } } });
    expect(readRegistryFile(file)).toEqual({
      tools: { echo: { path: 'tools/echo.ts' } },
      rootDir: dir,
    });
    expect(readRegistryFile(GOOD).concurrency).toBe(4);
  });

  test.each([
    ['missing.json', undefined, /registry .*missing\.json: ENOENT/],
    ['not-json.json', '{ tools: ', /registry .*not-json\.json: .*JSON/],
    ['array.json', [], /expected a JSON object with `tools`/],
    ['no-tools.json', { defaults: {} }, /`tools` must be an object/],
    ['empty.json', { tools: {} }, /`tools` is empty/],
    [
      'unknown.json',
      { tools: { a: { path: 'a.ts' } }, telemetry: false },
      /unknown key `telemetry`/,
    ],
    [
      'bad-tool.json',
      { tools: { a: { path: 3 } } },
      /Expected `tools.a.path` to be a string, got `3` \(number\)/,
    ],
  ])('%s is refused, naming the file', (name, content, message) => {
    const file = content === undefined ? join(dir, name) : registry(name, content);
    expect(() => readRegistryFile(file)).toThrow(message);
  });
});

describe.skipIf(!built)('the built CLI', () => {
  test('toolcage worker --help', async () => {
    const run = await runWatchingTemporal([CLI, 'worker', '--help'], ROOT);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('toolcage worker --task-queue NAME --registry FILE');
    expect(run.loaded).toEqual([]); // nothing of Temporal for help
  });

  test('usage errors exit 2 and say what was wrong', async () => {
    const missing = await runWatchingTemporal([CLI, 'worker', '--registry', GOOD], ROOT);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('toolcage worker: --task-queue is required');
    const bad = await runWatchingTemporal(
      [CLI, 'worker', '--task-queue', 'q', '--registry', registry('bad.json', { tools: {} })],
      ROOT,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/registry .*bad\.json: `tools` is empty/);
  });

  test('a server that cannot be reached: exit 1 with the reason, nothing left running', async () => {
    const run = await runWatchingTemporal(
      [CLI, 'worker', '--task-queue', 'q', '--registry', GOOD, '--address', '127.0.0.1:1'],
      ROOT,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/toolcage worker: .*(Connection refused|tcp connect error)/);
    expect(run.loaded).toEqual(expect.arrayContaining(['LOADED @temporalio/worker']));
    expect(toolProcesses().filter((line) => line.includes(ROOT))).toEqual([]);
  });

  test('the other commands never load a Temporal package', async () => {
    for (const args of [['--version'], ['--help'], ['doctor', '--json']]) {
      const run = await runWatchingTemporal([CLI, ...args], ROOT);
      expect({ args, code: run.code, loaded: run.loaded }).toEqual({ args, code: 0, loaded: [] });
    }
    const run = await runWatchingTemporal(
      [CLI, 'run', `${FIXTURES}ok-sync.ts`, '--json', '--sandbox', TEST_SANDBOX],
      ROOT,
    );
    expect(run.code).toBe(0);
    expect(run.loaded).toEqual([]);
  });
});
