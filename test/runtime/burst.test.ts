import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { withRuntime } from '../helpers/runtime.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds, 5_000);
});

const BURST = 1_000;
const CONCURRENCY = 4;

interface Outcome {
  readonly index: number;
  readonly kind: string;
  readonly limit: unknown;
  /** When the promise settled, ms after the burst was submitted. */
  readonly settledMs: number;
  readonly timeoutMs: number;
  /** When the call was made, ms after the burst began (its deadline runs from here). */
  readonly calledMs?: number;
  /** Timed out while still waiting for a slot. */
  readonly queued?: boolean;
}

describe('bursts', () => {
  test(`${BURST} executions at once, concurrency ${CONCURRENCY}: all complete or are rejected cleanly by the bounded queue`, async () => {
    const maxQueued = 600;
    await withRuntime({ concurrency: CONCURRENCY, maxQueued }, async (runtime) => {
      const submitted = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: BURST }, (_, index) =>
          runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', input: { index } }).then(
            (result): Outcome => {
              expect(result.output).toEqual({ echo: { index } });
              return {
                index,
                kind: 'success',
                limit: undefined,
                settledMs: performance.now() - submitted,
                timeoutMs: 0,
              };
            },
            (error: { kind: string; limit?: unknown }): Outcome => ({
              index,
              kind: error.kind,
              limit: error.limit,
              settledMs: performance.now() - submitted,
              timeoutMs: 0,
            }),
          ),
        ),
      );
      const succeeded = outcomes.filter((outcome) => outcome.kind === 'success');
      const rejected = outcomes.filter((outcome) => outcome.kind !== 'success');
      // The first `concurrency + maxQueued` were admitted and all completed; the rest were
      // refused at once by the queue, with the right kind and limit, and nothing else failed.
      expect(succeeded.map((outcome) => outcome.index)).toEqual(
        Array.from({ length: CONCURRENCY + maxQueued }, (_, i) => i),
      );
      expect(rejected).toHaveLength(BURST - CONCURRENCY - maxQueued);
      for (const outcome of rejected) {
        expect(outcome.kind).toBe(ErrorKind.ResourceLimit);
        expect(outcome.limit).toBe('queue');
      }
      // Refused at submission: long before the admitted ones could finish.
      const lastRejection = Math.max(...rejected.map((outcome) => outcome.settledMs));
      const firstSuccess = Math.min(...succeeded.map((outcome) => outcome.settledMs));
      expect(lastRejection).toBeLessThan(firstSuccess);
      expect(runtime.stats).toEqual({ running: 0, queued: 0, idleProcesses: 0 });
    });
  }, 240_000);

  test('a queued execution whose deadline passes while it waits times out at its deadline, not after the queue drains', async () => {
    await withRuntime({ concurrency: CONCURRENCY, maxQueued: BURST }, async (runtime) => {
      const submitted = performance.now();
      // Work that keeps every slot busy for a while, then a burst of queued calls with deadlines
      // spread over the time the queue takes to drain: early deadlines expire while queued.
      const blockerDeadlineMs = 1_500;
      const blockers = Array.from({ length: CONCURRENCY }, () =>
        runtime
          .executeToolWithTimeout({ toolPath: 'forever.ts', timeoutMs: blockerDeadlineMs })
          .then(
            () => ({ kind: 'success', settledMs: performance.now() - submitted }),
            (error: { kind: string }) => ({
              kind: error.kind,
              settledMs: performance.now() - submitted,
            }),
          ),
      );
      const calls = Array.from({ length: BURST - CONCURRENCY }, (_, index) => {
        const timeoutMs = 200 + (index % 20) * 150; // 200 … 3050 ms
        const calledMs = performance.now() - submitted;
        return runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', timeoutMs }).then(
          (): Outcome => ({
            index,
            kind: 'success',
            limit: undefined,
            settledMs: performance.now() - submitted,
            timeoutMs,
            calledMs,
          }),
          (error: { kind: string; limit?: unknown; message: string }): Outcome => ({
            index,
            kind: error.kind,
            limit: error.limit,
            settledMs: performance.now() - submitted,
            timeoutMs,
            calledMs,
            queued: error.message.includes('waiting for a free slot'),
          }),
        );
      });
      // Submitting is synchronous work of the caller (≈ 0.1 ms per call: validation, path
      // resolution, timers, listeners): no timer of any call can fire before the caller yields.
      const submittedAll = performance.now() - submitted;
      const outcomes = await Promise.all(calls);
      const blocked = await Promise.all(blockers);
      expect(blocked.map((blocker) => blocker.kind)).toEqual(
        Array.from({ length: CONCURRENCY }, () => ErrorKind.Timeout),
      );
      const slotsFreedMs = Math.min(...blocked.map((blocker) => blocker.settledMs));

      const timedOut = outcomes.filter((outcome) => outcome.kind === ErrorKind.Timeout);
      const others = outcomes.filter(
        (outcome) => outcome.kind !== ErrorKind.Timeout && outcome.kind !== 'success',
      );
      expect(others).toEqual([]);
      // Every call whose deadline fell while all slots were blocked timed out in the queue.
      expect(timedOut.length).toBeGreaterThanOrEqual(
        outcomes.filter((outcome) => outcome.timeoutMs < blockerDeadlineMs).length,
      );
      // A call that timed out while queued settles at its deadline (never early), not when the
      // queue has drained. Asserted as order, which load cannot reverse (timers fire in deadline
      // order; a blocker's timeout must still kill and reap its process): every queued call
      // whose deadline came before the blockers' settled before any slot was freed. Their
      // lateness (the event loop's lag, ≈ 1–2 ms per spawn here) is printed, and bounded only
      // far above what a loaded 2-core machine shows and far below the 1.3 s or more that
      // waiting for a slot would add. One that got a slot and then ran out of time is killed
      // first: it gets the deadline bound of issue 5 (all gone ≤ +100 ms).
      const lateness = (list: Outcome[]): number[] =>
        list.map(
          (outcome) =>
            outcome.settledMs - Math.max((outcome.calledMs ?? 0) + outcome.timeoutMs, submittedAll),
        );
      const inQueue = lateness(timedOut.filter((outcome) => outcome.queued === true));
      const running = lateness(timedOut.filter((outcome) => outcome.queued !== true));
      const drainedAt = Math.max(...outcomes.map((outcome) => outcome.settledMs));
      const percentile = (values: number[], q: number): number => {
        const sorted = [...values].sort((a, b) => a - b);
        return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
      };
      const worst = (values: number[]): string =>
        values.length === 0
          ? '-'
          : `p50 ${percentile(values, 0.5).toFixed(1)}, p99 ${percentile(values, 0.99).toFixed(1)}, max ${Math.max(...values).toFixed(1)}`;
      console.info(
        `burst: submitting ${calls.length} calls took ${submittedAll.toFixed(0)} ms; ` +
          `${inQueue.length} timed out queued (ms late: ${worst(inQueue)}), ${running.length} while running ` +
          `(ms late: ${worst(running)}), ${outcomes.length - timedOut.length} succeeded, drained after ${drainedAt.toFixed(0)} ms`,
      );
      expect(inQueue.length).toBeGreaterThan(0);
      // Never early.
      expect(
        Math.min(
          ...timedOut.map(
            (outcome) => outcome.settledMs - (outcome.calledMs ?? 0) - outcome.timeoutMs,
          ),
        ),
      ).toBeGreaterThanOrEqual(-1);
      const beforeBlockers = timedOut.filter(
        (outcome) =>
          outcome.queued === true &&
          (outcome.calledMs ?? 0) + outcome.timeoutMs < blockerDeadlineMs,
      );
      expect(beforeBlockers.length).toBeGreaterThan(0);
      for (const outcome of beforeBlockers) expect(outcome.settledMs).toBeLessThan(slotsFreedMs);
      expect(Math.max(...inQueue)).toBeLessThan(1_000);
      // Generous: a loaded 2-core machine (CI beside other jobs) was seen at 146 ms.
      if (running.length > 0) expect(Math.max(...running)).toBeLessThan(1_000);
      // The queue's own wait really was longer than that: the bound above is not trivially met.
      expect(drainedAt).toBeGreaterThan(1_500 + 1_000);
    });
  }, 240_000);
});
