import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { ExecuteRequest } from '../../src/runtime/runtime-options.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { fixtureRuntime } from '../helpers/runtime.js';

// A full collection on demand, so heap figures are live data and not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TOTAL = 2_000;
const CLOSED_MID_FLIGHT = 40;
const CONCURRENCY = 8;

interface Case {
  readonly name: string;
  /** How many of every 20 executions. */
  readonly share: number;
  readonly request: (signal: AbortSignal | undefined, memoryEnforced: boolean) => ExecuteRequest;
  /** `success` or the error kind; a function when it depends on what the machine enforces. */
  readonly expected: string | ((memoryEnforced: boolean) => string);
  /** Aborts the call's signal this long after the call (a caller's cancel). */
  readonly cancelAfterMs?: number;
}

const CASES: readonly Case[] = [
  {
    name: 'success',
    share: 7,
    request: () => ({ toolPath: 'ok-sync.ts', input: { n: 1 } }),
    expected: 'success',
  },
  {
    name: 'logs',
    share: 1,
    request: () => ({ toolPath: 'noisy-logs.ts', input: { lines: 50 } }),
    expected: 'success',
  },
  {
    name: 'throws',
    share: 2,
    request: () => ({ toolPath: 'throws.ts' }),
    expected: ErrorKind.ToolError,
  },
  {
    name: 'rejects',
    share: 1,
    request: () => ({ toolPath: 'rejects.ts' }),
    expected: ErrorKind.ToolError,
  },
  {
    name: 'timeout',
    share: 2,
    request: () => ({ toolPath: 'forever.ts', timeoutMs: 150 }),
    expected: ErrorKind.Timeout,
  },
  {
    name: 'spin',
    share: 1,
    request: () => ({ toolPath: 'spin.ts', timeoutMs: 150 }),
    expected: ErrorKind.Timeout,
  },
  {
    name: 'exit',
    share: 1,
    request: () => ({ toolPath: 'crash-exit.ts' }),
    expected: ErrorKind.Crashed,
  },
  {
    name: 'signal',
    share: 1,
    request: () => ({ toolPath: 'crash-signal.ts' }),
    expected: ErrorKind.Crashed,
  },
  {
    name: 'output',
    share: 1,
    request: () => ({
      toolPath: 'large-output.ts',
      input: { bytes: 20_000 },
      limits: { maxOutputBytes: 1_000 },
    }),
    expected: ErrorKind.OutputLimit,
  },
  {
    // FOR THE LEAD: out_of_memory needs the sandbox's memory cgroup (read from the enforcement
    // report). Where the machine has none, the tool allocates until its deadline, kept short so
    // it stays a few hundred MB, and the expected kind is `timeout`. With the cgroup, the
    // deadline is long enough for the 64 MB limit to be hit first even on a loaded machine.
    name: 'oom',
    share: 1,
    request: (_signal, memoryEnforced) => ({
      toolPath: 'oom-heap.ts',
      timeoutMs: memoryEnforced ? 10_000 : 250,
      limits: { memoryMb: 64 },
    }),
    expected: (memoryEnforced) => (memoryEnforced ? ErrorKind.OutOfMemory : ErrorKind.Timeout),
  },
  {
    name: 'cancel',
    share: 2,
    request: (signal) => ({
      toolPath: 'forever.ts',
      timeoutMs: 10_000,
      ...(signal === undefined ? {} : { signal }),
    }),
    expected: ErrorKind.Cancelled,
    cancelAfterMs: 60,
  },
];

// Every 20 executions hold each case `share` times.
const CYCLE = CASES.flatMap((entry) => Array.from({ length: entry.share }, () => entry));

function kindOf(error: unknown): string {
  return (error as { kind?: string }).kind ?? `not a ToolExecutionError: ${String(error)}`;
}

describe('soak', () => {
  test(`${TOTAL} executions at concurrency ${CONCURRENCY}, cancels and a close() mid-flight: all classified, nothing left`, async () => {
    expect(CYCLE).toHaveLength(20);
    const baselineFds = openFds();
    const runtime = fixtureRuntime({ concurrency: CONCURRENCY });
    // Whether this machine enforces memory limits (read from a result's enforcement report).
    const probe = await runtime.executeToolWithTimeout({
      toolPath: 'ok-sync.ts',
      limits: { memoryMb: 64 },
    });
    const memoryEnforced = probe.enforcement.memory.mechanism !== 'none';

    // Warm-up: first-use allocations (modules, JIT, pools) are not growth.
    for (let i = 0; i < 40; i++) await runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts' });
    gc();
    const before = process.memoryUsage();

    const mismatches: string[] = [];
    const counts = new Map<string, number>();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < TOTAL - CLOSED_MID_FLIGHT) {
        const entry = CYCLE[next++ % CYCLE.length]!;
        const controller = entry.cancelAfterMs === undefined ? undefined : new AbortController();
        const timer =
          controller === undefined
            ? undefined
            : setTimeout(() => controller.abort(), entry.cancelAfterMs);
        let got: string;
        try {
          await runtime.executeToolWithTimeout(entry.request(controller?.signal, memoryEnforced));
          got = 'success';
        } catch (error) {
          got = kindOf(error);
        } finally {
          clearTimeout(timer);
        }
        const expected =
          typeof entry.expected === 'function' ? entry.expected(memoryEnforced) : entry.expected;
        counts.set(`${entry.name}→${got}`, (counts.get(`${entry.name}→${got}`) ?? 0) + 1);
        if (got !== expected) mismatches.push(`${entry.name}: expected ${expected}, got ${got}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY * 2 }, lane));

    gc();
    const after = process.memoryUsage();

    // close() mid-flight: CONCURRENCY running, the rest queued; every one ends `cancelled`.
    const last = Array.from({ length: CLOSED_MID_FLIGHT }, () =>
      runtime.executeToolWithTimeout({ toolPath: 'forever.ts', timeoutMs: 30_000 }).then(
        () => 'success',
        (error: unknown) => kindOf(error),
      ),
    );
    await expect.poll(() => runtime.stats.running, { timeout: 10_000 }).toBe(CONCURRENCY);
    await runtime.close();
    const closedKinds = await Promise.all(last);

    console.info(
      `soak: ${[...counts].map(([key, count]) => `${key} ${count}`).join(', ')}; memory enforced: ${memoryEnforced}; ` +
        `heap ${(before.heapUsed / 2 ** 20).toFixed(1)} → ${(after.heapUsed / 2 ** 20).toFixed(1)} MB, ` +
        `rss ${(before.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} MB`,
    );
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(closedKinds.filter((kind) => kind !== ErrorKind.Cancelled)).toEqual([]);

    await expectNothingLeft(baselineFds, 5_000);
    // Back near where it started: live heap within a few MB, RSS within allocator slack.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * 2 ** 20);
    expect(after.rss - before.rss).toBeLessThan(64 * 2 ** 20);
  }, 300_000);
});
