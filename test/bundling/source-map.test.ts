/**
 * A bundled tool's stack names its own source: real Bun, real bubblewrap, the bundle (with its
 * bytecode) shown at the tool's path, or at its cache path where a grant shows the directory,
 * and unsandboxed; a cold process and a prewarmed one.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { ToolRuntimeOptions } from '../../src/runtime/runtime-options.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { FIXTURES, rejectionOf, withRuntime } from '../helpers/runtime.js';
import { sandboxAvailability } from '../sandbox/harness.js';

const available = await sandboxAvailability();
const TOOL = 'throws-on-line-7.ts';
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const execFileAsync = promisify(execFile);

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

// The stack of the fixture's error, run once by a runtime with `options`.
async function stackOf(options: ToolRuntimeOptions, prewarmed = false): Promise<string> {
  return withRuntime(options, async (runtime) => {
    if (prewarmed)
      await runtime
        .executeToolWithTimeout({ toolPath: TOOL, input: { text: 'warm' } })
        .catch(() => {});
    const error = await rejectionOf(
      runtime.executeToolWithTimeout({ toolPath: TOOL, input: { text: 'hi' } }),
    );
    expect(error['kind']).toBe(ErrorKind.ToolError);
    const toolError = error['toolError'] as { stack?: string } | undefined;
    return toolError?.stack ?? '';
  });
}

describe.skipIf(!available.ok)('a bundled tool’s stack trace', () => {
  test('sandboxed: the throw on line 7 of the tool is reported at the tool’s line 7', async () => {
    const source = readFileSync(`${FIXTURES}${TOOL}`, 'utf8').split('\n');
    expect(source[6]).toContain('throw new Error');
    const stack = await stackOf({ sandbox: 'bwrap' });
    expect(stack).toContain(`${FIXTURES}${TOOL}:7:`);
  });

  test('a prewarmed process maps it too', async () => {
    const stack = await stackOf({ sandbox: 'bwrap', prewarm: 1 }, true);
    expect(stack).toContain(`${FIXTURES}${TOOL}:7:`);
  });

  test('with a grant showing the tool’s directory (the bundle keeps its cache path)', async () => {
    const stack = await stackOf({
      sandbox: 'bwrap',
      defaults: { permissions: { read: [FIXTURES] } },
    });
    expect(stack).toContain(`${FIXTURES}${TOOL}:7:`);
  });

  test('unsandboxed', async () => {
    const stack = await stackOf({ sandbox: 'none' });
    expect(stack).toContain(`${FIXTURES}${TOOL}:7:`);
  });

  test('the cache holds the map beside the bundle, with absolute sources and no source text', async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      CLI,
      'build',
      `${FIXTURES}${TOOL}`,
      '--json',
    ]);
    const report = JSON.parse(stdout) as { tools: Array<{ bundle: string }> };
    const bundle = report.tools[0]!.bundle;
    const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as {
      sources: string[];
      sourcesContent: unknown[];
    };
    expect(map.sources).toContain(`${FIXTURES}${TOOL}`);
    expect(map.sources.every((source) => source.startsWith('/'))).toBe(true);
    expect(map.sourcesContent).toHaveLength(map.sources.length);
    expect(map.sourcesContent.every((content) => content === null)).toBe(true);
    expect(existsSync(`${bundle}.jsc`)).toBe(true);
  });
});
