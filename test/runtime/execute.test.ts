import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { isToolExecutionError } from '../../src/errors/tool-execution-error.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { fixtureRuntime, rejectionOf, withRuntime } from '../helpers/runtime.js';

let runtime: ToolRuntime;
let baselineFds: number;

beforeAll(() => {
  runtime = fixtureRuntime({ concurrency: 4 });
  baselineFds = openFds();
});
afterAll(async () => {
  await runtime.close();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await expectNothingLeft(baselineFds);
});

describe('successful tools', () => {
  test('a sync tool returns its value', async () => {
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'ok-sync.ts',
      input: { a: [1, 'b', null] },
    });
    expect(result.output).toEqual({ echo: { a: [1, 'b', null] } });
    expect(result.exitCode).toBe(0);
    expect(result.outputBytes).toBe(JSON.stringify({ echo: { a: [1, 'b', null] } }).length);
    expect(result.enforcement.environment).toBe('cleared');
  });

  test('an async tool sees its config and id', async () => {
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'ok-async.ts',
      input: 7,
      config: { unit: 'C' },
    });
    expect(result.output).toEqual({ input: 7, config: { unit: 'C' }, toolId: 'ok-async' });
  });

  test('unicode crosses the boundary intact', async () => {
    const text = 'héllo 世界 🧪 e\u0301 \u2028';
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'unicode.ts',
      input: { text },
    });
    expect(result.output).toEqual({ text, length: [...text].length });
  });

  test('junk on stdout is a log, never the result', async () => {
    const lines: string[] = [];
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'stdout-junk.ts',
      onLog: (stream, line) => lines.push(`${stream}:${line}`),
    });
    expect(result.output).toEqual({ value: 42 });
    expect(result.logs.stdout).toContain('"forged"');
    expect(result.logs.stdout).toContain('written with Bun.write');
    expect(lines).toContain('stdout:and console.log');
  });

  test('a large allowed output arrives whole', async () => {
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'large-output.ts',
      input: { bytes: 2_000_000 },
    });
    expect(result.output).toHaveLength(2_000_000);
    expect(result.outputBytes).toBe(2_000_002);
  });

  test('noisy logs are capped, the tail is kept, and every line is streamed', async () => {
    let streamed = 0;
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'noisy-logs.ts',
      input: { lines: 5000 },
      limits: { maxLogBytes: 4096 },
      onLog: () => streamed++,
    });
    expect(result.output).toEqual({ lines: 5000 });
    expect(result.logs.truncated).toBe(true);
    expect(Buffer.byteLength(result.logs.stdout)).toBeLessThanOrEqual(4096);
    expect(result.logs.stdout).toContain('out line 4999');
    expect(result.logs.stdout).not.toContain('out line 0\n');
    expect(streamed).toBe(10_000);
  });

  test('a tool returning nothing yields null', async () => {
    const result = await runtime.executeToolWithTimeout({ toolPath: 'returns-undefined.ts' });
    expect(result.output).toBeNull();
  });

  test('a Compozy-style entry serves the tool named by --export', async () => {
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'compozy-entry.ts',
      exportName: 'weather',
      input: { city: 'Oslo' },
    });
    expect(result.output).toEqual({ city: 'Oslo', forecast: 'sunny' });
  });

  test('a Compozy-style entry called without an export names the functions it has', async () => {
    const error = await rejectionOf(
      runtime.executeToolWithTimeout({ toolPath: 'compozy-entry.ts' }),
    );
    expect(error['kind']).toBe(ErrorKind.ToolNotFound);
    expect(error['message']).toBe(
      'Tool `compozy-entry`: export `default` is an object without a function `compozy-entry`; ' +
        'its functions: `weather`, `time` (pick one with `exportName`; `--export` on the command line)',
    );
  });

  test('a registered Compozy tool is picked by its id', async () => {
    await withRuntime(
      {
        tools: { weather: { path: 'compozy-entry.ts' }, time: { path: 'compozy-entry.ts' } },
      },
      async (registry) => {
        expect((await registry.executeToolWithTimeout({ toolId: 'weather' })).output).toEqual({
          city: 'Paris',
          forecast: 'sunny',
        });
        expect((await registry.executeToolWithTimeout({ toolId: 'time' })).output).toEqual({
          iso: '1970-01-01T00:00:00.000Z',
        });
      },
    );
  });
});

describe('the environment is not inherited', () => {
  test('a host secret is invisible; given variables are visible', async () => {
    vi.stubEnv('SECRET_TOKEN', 'host-secret');
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'env-reader.ts',
      input: { names: ['SECRET_TOKEN', 'API_BASE', 'PATH', 'NODE_OPTIONS'] },
      env: { API_BASE: 'https://example.invalid' },
    });
    expect(result.output).toMatchObject({
      seen: { SECRET_TOKEN: null, API_BASE: 'https://example.invalid', NODE_OPTIONS: null },
    });
  });

  test('a host variable passes only when permissions.env names it, and a call cannot widen that', async () => {
    vi.stubEnv('SHARED_REGION', 'eu-west');
    vi.stubEnv('OTHER_SECRET', 'no');
    await withRuntime(
      { defaults: { permissions: { env: ['SHARED_REGION'] } } },
      async (granting) => {
        const result = await granting.executeToolWithTimeout({
          toolPath: 'env-reader.ts',
          input: { names: ['SHARED_REGION', 'OTHER_SECRET'] },
        });
        expect(result.output).toMatchObject({
          seen: { SHARED_REGION: 'eu-west', OTHER_SECRET: null },
        });
        const widened = await rejectionOf(
          granting.executeToolWithTimeout({
            toolPath: 'env-reader.ts',
            input: { names: ['OTHER_SECRET'] },
            permissions: { env: ['OTHER_SECRET'] },
          }),
        );
        expect(widened['kind']).toBe(ErrorKind.InvalidRequest);
        expect(widened['message']).toContain('OTHER_SECRET is not granted');
      },
    );
  });
});

describe('failures are classified', () => {
  test.each([
    ['throws.ts', ErrorKind.ToolError, {}],
    ['rejects.ts', ErrorKind.ToolError, {}],
    ['throws-in-timer.ts', ErrorKind.ToolError, {}],
    ['throws.ts', ErrorKind.ToolError, { limits: { maxOutputBytes: 100 } }],
    ['throws-huge.ts', ErrorKind.ToolError, { limits: { maxOutputBytes: 100 } }],
    ['unhandled-rejection.ts', ErrorKind.ToolError, {}],
    ['crash-exit.ts', ErrorKind.Crashed, {}],
    ['crash-signal.ts', ErrorKind.Crashed, {}],
    ['exit-zero.ts', ErrorKind.InvalidOutput, {}],
    ['non-json.ts', ErrorKind.InvalidOutput, {}],
    ['circular.ts', ErrorKind.InvalidOutput, {}],
    ['junk-fd3.ts', ErrorKind.InvalidOutput, {}],
    ['no-default.ts', ErrorKind.ToolNotFound, {}],
    ['not-a-function.ts', ErrorKind.ToolNotFound, {}],
    ['missing-file.ts', ErrorKind.ToolNotFound, {}],
    ['broken-syntax.ts', ErrorKind.ToolError, {}],
    ['failed-import.ts', ErrorKind.ToolError, {}],
    ['forever.ts', ErrorKind.Timeout, { timeoutMs: 300 }],
    ['spin.ts', ErrorKind.Timeout, { timeoutMs: 300 }],
    ['huge-output.ts', ErrorKind.OutputLimit, { limits: { maxOutputBytes: 1_000_000 } }],
    [
      'large-output.ts',
      ErrorKind.OutputLimit,
      { input: { bytes: 1001 }, limits: { maxOutputBytes: 1000 } },
    ],
  ] as const)('%s → %s', async (toolPath, kind, extra) => {
    const error = await rejectionOf(runtime.executeToolWithTimeout({ toolPath, ...extra }));
    expect(isToolExecutionError(error)).toBe(true);
    expect(error['kind']).toBe(kind);
    expect(error['message']).toMatch(/^Tool `/);
  });

  test('the thrown error crosses the boundary with its name, message, stack and code', async () => {
    const error = await rejectionOf(runtime.executeToolWithTimeout({ toolPath: 'throws.ts' }));
    expect(error['toolError']).toMatchObject({
      name: 'Error',
      message: 'the weather service said no',
      code: 'E_WEATHER',
    });
    expect((error['toolError'] as { stack: string }).stack).toContain('throws.ts');
  });

  test('a crash carries the exit code and the stderr tail', async () => {
    const error = await rejectionOf(runtime.executeToolWithTimeout({ toolPath: 'crash-exit.ts' }));
    expect(error['exitCode']).toBe(3);
    expect(error['message']).toContain('about to exit');
  });

  test('an output exactly at the cap passes', async () => {
    const result = await runtime.executeToolWithTimeout({
      toolPath: 'large-output.ts',
      input: { bytes: 998 },
      limits: { maxOutputBytes: 1000 },
    });
    expect(result.outputBytes).toBe(1000);
  });
});

describe('invalid requests are refused before anything starts', () => {
  test.each([
    ['`..`', { toolPath: '../etc/passwd' }],
    ['outside the allowed roots', { toolPath: '/etc/passwd' }],
    ['starting with a dot', { toolPath: '.hidden.ts' }],
    ['NUL', { toolPath: 'ok\0.ts' }],
    ['mixes scripts', { toolPath: 'ok-sуnc.ts' }],
    ['compatibility', { toolPath: 'ｏｋ.ts' }],
    ['invisible', { toolPath: 'ok\u200b-sync.ts' }],
    ['NFC', { toolPath: 'e\u0301.ts' }],
    ['must match', { toolId: 'a/b' }],
    ['input.n is a bigint', { toolPath: 'ok-sync.ts', input: { n: 10n } }],
    ['not a plain object', { toolPath: 'ok-sync.ts', input: new Map() }],
    ['not a finite number', { toolPath: 'ok-sync.ts', config: { f: Number.NaN } }],
    ['LD_PRELOAD', { toolPath: 'ok-sync.ts', env: { LD_PRELOAD: '/x.so' } }],
    ['NODE_OPTIONS', { toolPath: 'ok-sync.ts', env: { NODE_OPTIONS: '--require x' } }],
    ['BUN_OPTIONS', { toolPath: 'ok-sync.ts', env: { BUN_OPTIONS: '--x' } }],
    ['DYLD_', { toolPath: 'ok-sync.ts', env: { DYLD_INSERT_LIBRARIES: 'x' } }],
    ['must match', { toolPath: 'ok-sync.ts', env: { 'lower-case': 'x' } }],
    ['NUL, CR or LF', { toolPath: 'ok-sync.ts', env: { GOOD: 'a\nb' } }],
    ['exactly one', { toolPath: 'ok-sync.ts', toolId: 'x' }],
  ] as const)('refuses with %s', async (detail, request) => {
    const error = await rejectionOf(runtime.executeToolWithTimeout(request));
    expect(error['kind']).toBe(ErrorKind.InvalidRequest);
    expect(error['message']).toContain(detail);
  });

  test('an unregistered tool id is tool_not_found', async () => {
    const error = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'nope' }));
    expect(error['kind']).toBe(ErrorKind.ToolNotFound);
  });

  test('a wrongly typed option throws TypeError synchronously', () => {
    expect(() => runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', timeoutMs: -1 })).toThrow(
      'Expected `timeoutMs` to be a positive integer, got `-1` (number)',
    );
    expect(() => runtime.executeToolWithTimeout({ toolPath: 42 as unknown as string })).toThrow(
      TypeError,
    );
    expect(() => fixtureRuntime({ concurrency: 0 })).toThrow(
      'Expected `concurrency` to be a positive integer, got `0` (number)',
    );
  });
});
