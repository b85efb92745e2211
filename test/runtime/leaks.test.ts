import { describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { fixtureRuntime } from '../helpers/runtime.js';

describe('nothing outlives an execution', () => {
  test('200 executions mixing successes, throws, timeouts, crashes and grandchildren leave nothing behind', async () => {
    const baselineFds = openFds();
    const runtime = fixtureRuntime({
      concurrency: 8,
      tools: { grandchild: { path: 'grandchild.ts', permissions: { run: true } } },
    });
    const plan = [
      { request: { toolPath: 'ok-sync.ts' }, kind: 'success' },
      { request: { toolPath: 'throws.ts' }, kind: ErrorKind.ToolError },
      { request: { toolPath: 'forever.ts', timeoutMs: 150 }, kind: ErrorKind.Timeout },
      { request: { toolPath: 'ignores-sigterm.ts', timeoutMs: 150 }, kind: ErrorKind.Timeout },
      { request: { toolPath: 'crash-exit.ts' }, kind: ErrorKind.Crashed },
      { request: { toolPath: 'crash-signal.ts' }, kind: ErrorKind.Crashed },
      {
        request: { toolId: 'grandchild', timeoutMs: 300 },
        kind: ErrorKind.Timeout,
      },
      { request: { toolPath: 'noisy-logs.ts', input: { lines: 200 } }, kind: 'success' },
    ] as const;
    const runs = Array.from({ length: 200 }, (_, index) => plan[index % plan.length]!);
    const outcomes = await Promise.all(
      runs.map(async ({ request, kind }, index) => {
        const name = `#${index} ${'toolPath' in request ? request.toolPath : request.toolId}`;
        const expected = `${name}: ${kind}`;
        try {
          await runtime.executeToolWithTimeout(request);
          return { got: `${name}: success`, expected };
        } catch (error) {
          const { kind: got, message } = error as { kind: string; message: string };
          return { got: got === kind ? expected : `${name}: ${got} (${message})`, expected };
        }
      }),
    );
    // Compared as a list so that a failure names every execution that went wrong, and why.
    expect(outcomes.map(({ got }) => got)).toEqual(outcomes.map(({ expected }) => expected));
    await runtime.close();
    await expectNothingLeft(baselineFds, 5_000);
  }, 180_000);
});
