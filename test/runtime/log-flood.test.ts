import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { rejectionOf, withRuntime } from '../helpers/runtime.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds, 5_000);
});

// Lines per write of log-flood.ts: its stdout is `0`…`PER_WRITE - 1` again and again.
const PER_WRITE = 10_000;
const ALONE_SAMPLES = 8;
const FLOOD_SAMPLES = 15;

// Checks the lines of one stream come as log-flood.ts prints them (line n is `n % period`):
// nothing lost, nothing reordered.
class Sequence {
  next = 0;
  misordered: string | undefined;

  constructor(readonly period: number) {}

  readonly take = (line: string): void => {
    if (this.misordered === undefined && line !== String(this.next % this.period)) {
      this.misordered = `line ${this.next}: expected ${this.next % this.period}, got ${line.slice(0, 40)}`;
    }
    this.next += 1;
  };
}

function floodLog(): {
  stdout: Sequence;
  stderr: Sequence;
  onLog: (stream: 'stdout' | 'stderr', line: string) => void;
} {
  const stdout = new Sequence(PER_WRITE);
  const stderr = new Sequence(Number.MAX_SAFE_INTEGER);
  return {
    stdout,
    stderr,
    onLog: (stream, line) => (stream === 'stdout' ? stdout : stderr).take(line),
  };
}

async function trivialMs(runtime: ToolRuntime): Promise<number> {
  const started = performance.now();
  const result = await runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', input: 1 });
  expect(result.output).toEqual({ echo: 1 });
  return performance.now() - started;
}

async function trivialSamples(runtime: ToolRuntime, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await trivialMs(runtime));
  return samples;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('a log flood with onLog set', () => {
  test('does not slow a concurrent trivial execution, and arrives whole, in order, classified', async () => {
    await withRuntime({ concurrency: 4 }, async (runtime) => {
      // Both tools built and warm before anything is timed.
      await runtime.executeToolWithTimeout({ toolPath: 'log-flood.ts', input: { ms: 50 } });
      await trivialSamples(runtime, 3);
      const before = await trivialSamples(runtime, ALONE_SAMPLES);

      const log = floodLog();
      let settled = false;
      const flood = runtime
        .executeToolWithTimeout({
          toolPath: 'log-flood.ts',
          input: { ms: 6_000, perWrite: PER_WRITE },
          timeoutMs: 60_000,
          onLog: log.onLog,
        })
        .finally(() => (settled = true));
      while (log.stdout.next < 100_000 && !settled) await new Promise((r) => setTimeout(r, 10));
      const linesBefore = log.stdout.next;
      const during: number[] = [];
      while (during.length < FLOOD_SAMPLES && !settled) during.push(await trivialMs(runtime));
      const linesDuring = log.stdout.next - linesBefore;
      const result = await flood;
      const after = await trivialSamples(runtime, ALONE_SAMPLES);
      const alone = [...before, ...after];
      console.info(
        `trivial execution: median ${median(alone).toFixed(1)} ms alone (${ALONE_SAMPLES} before, ` +
          `${ALONE_SAMPLES} after), ${median(during).toFixed(1)} ms during a flood ` +
          `(${linesDuring} lines streamed meanwhile, ${log.stdout.next} in all)`,
      );

      // The trivial calls were measured while the flood streamed, and were not held up by it
      // (before, a flood like this one made them take 1.5–1.9 s).
      expect(during).toHaveLength(FLOOD_SAMPLES);
      expect(linesDuring).toBeGreaterThan(100_000);
      expect(median(during)).toBeLessThanOrEqual(median(alone) + 25);
      // The flood's own result: every line streamed once, in order; the tail kept, cut.
      expect(result.output).toEqual({ blocks: log.stderr.next, perWrite: PER_WRITE });
      expect(log.stdout.next).toBe(log.stderr.next * PER_WRITE);
      expect(log.stdout.misordered).toBeUndefined();
      expect(log.stderr.misordered).toBeUndefined();
      expect(result.logs.truncated).toBe(true);
      expect(result.logs.stdout.endsWith(`\n${PER_WRITE - 1}\n`)).toBe(true);
      expect(result.logs.stderr.endsWith(`\n${log.stderr.next - 1}\n`)).toBe(true);
    });
  });

  test('that outlives its deadline is a timeout, its lines streamed in order up to the kill', async () => {
    await withRuntime(async (runtime) => {
      await runtime.executeToolWithTimeout({ toolPath: 'log-flood.ts', input: { ms: 50 } });
      const log = floodLog();
      const started = performance.now();
      const error = await rejectionOf(
        runtime.executeToolWithTimeout({
          toolPath: 'log-flood.ts',
          input: { ms: 600_000, perWrite: PER_WRITE },
          timeoutMs: 1_500,
          onLog: log.onLog,
        }),
      );
      const settledMs = performance.now() - started;
      console.info(`a flood with a 1500 ms deadline settled after ${settledMs.toFixed(0)} ms`);
      expect(error['kind']).toBe('timeout');
      // What the flood left in the pipes is delivered (paced) before the run settles.
      expect(settledMs).toBeLessThan(1_500 + 3_500);
      expect(log.stdout.next).toBeGreaterThan(PER_WRITE);
      expect(log.stdout.misordered).toBeUndefined();
      expect(log.stderr.misordered).toBeUndefined();
      expect(error['logs']).toMatchObject({ truncated: true });
    });
  });
});
