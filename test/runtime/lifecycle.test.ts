import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import {
  fixtureRuntime,
  rejectionOf,
  runUntilReady,
  waitForLine,
  withRuntime,
} from '../helpers/runtime.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

describe('deadlines', () => {
  test('a tool that ignores SIGTERM still ends at its deadline, even with a grace period', async () => {
    await withRuntime({ killGraceMs: 100 }, async (runtime) => {
      // Built first: on a clean checkout (CI) a loaded machine can take longer than the deadline
      // to build it, and this is about the kill of a running tool.
      await runUntilReady(runtime, 'ignores-sigterm.ts');
      const started = performance.now();
      const error = await rejectionOf(
        runtime.executeToolWithTimeout({ toolPath: 'ignores-sigterm.ts', timeoutMs: 300 }),
      );
      const elapsed = performance.now() - started;
      expect(error['kind']).toBe(ErrorKind.Timeout);
      expect(error['message']).toBe('Tool `ignores-sigterm` timed out after 300 ms');
      // Deadline + grace, with room for a loaded machine.
      expect(elapsed).toBeGreaterThanOrEqual(300);
      expect(elapsed).toBeLessThan(300 + 100 + 1500);
    });
  });

  test('context.signal aborts at the deadline before the kill', async () => {
    await withRuntime({ killGraceMs: 500 }, async (runtime) => {
      await runUntilReady(runtime, 'abort-aware.ts');
      const error = await rejectionOf(
        runtime.executeToolWithTimeout({ toolPath: 'abort-aware.ts', timeoutMs: 300 }),
      );
      expect(error['kind']).toBe(ErrorKind.Timeout);
      expect((error['logs'] as { stderr: string }).stderr).toContain('saw abort');
    });
  });

  test('the per-call timeout is capped by the tool’s own', async () => {
    await withRuntime(
      { tools: { slow: { path: 'forever.ts', timeoutMs: 200 } } },
      async (runtime) => {
        const error = await rejectionOf(
          runtime.executeToolWithTimeout({ toolId: 'slow', timeoutMs: 60_000 }),
        );
        expect(error['kind']).toBe(ErrorKind.Timeout);
        expect(error['message']).toContain('200 ms');
      },
    );
  });
});

describe('cancellation', () => {
  test('an AbortSignal cancels a running execution', async () => {
    await withRuntime(async (runtime) => {
      const controller = new AbortController();
      const { onLog, ready } = waitForLine('ready');
      const pending = rejectionOf(
        runtime.executeToolWithTimeout({
          toolPath: 'forever.ts',
          signal: controller.signal,
          onLog,
        }),
      );
      await ready;
      controller.abort();
      const error = await pending;
      expect(error['kind']).toBe(ErrorKind.Cancelled);
    });
  });

  test('an already aborted signal never starts the tool', async () => {
    await withRuntime(async (runtime) => {
      const error = await rejectionOf(
        runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', signal: AbortSignal.abort() }),
      );
      expect(error['kind']).toBe(ErrorKind.Cancelled);
    });
  });

  test('close() cancels running and queued executions and refuses new ones', async () => {
    const runtime = fixtureRuntime({ concurrency: 1 });
    const { onLog, ready } = waitForLine('ready');
    const running = rejectionOf(runtime.executeToolWithTimeout({ toolPath: 'forever.ts', onLog }));
    const queued = rejectionOf(runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts' }));
    await ready;
    await runtime.close();
    expect((await running)['kind']).toBe(ErrorKind.Cancelled);
    expect((await queued)['kind']).toBe(ErrorKind.Cancelled);
    const late = await rejectionOf(runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts' }));
    expect(late['kind']).toBe(ErrorKind.Cancelled);
  });
});

describe('the bounded queue', () => {
  test('a full queue rejects at once with resource_limit (limit: queue)', async () => {
    await withRuntime({ concurrency: 1, maxQueued: 1 }, async (runtime) => {
      const { onLog, ready } = waitForLine('ready');
      const running = rejectionOf(
        runtime.executeToolWithTimeout({ toolPath: 'forever.ts', timeoutMs: 2_000, onLog }),
      );
      const queued = runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', timeoutMs: 10_000 });
      let runningSettled = false;
      void running.then(() => (runningSettled = true));
      await ready;
      const started = performance.now();
      const rejected = await rejectionOf(
        runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts' }),
      );
      // At once: before the running tool (its deadline 2 s away) frees its slot; and well within
      // that, with room for a 2-core machine under 3× load (an idle one takes < 1 ms).
      expect(runningSettled).toBe(false);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(rejected['kind']).toBe(ErrorKind.ResourceLimit);
      expect(rejected['limit']).toBe('queue');
      expect(rejected['message']).toContain('queue is full');
      expect((await running)['kind']).toBe(ErrorKind.Timeout);
      expect((await queued).output).toEqual({ echo: null });
    });
  });

  test('a queued execution’s deadline holds while it waits', async () => {
    await withRuntime({ concurrency: 1 }, async (runtime) => {
      const { onLog, ready } = waitForLine('ready');
      const running = rejectionOf(
        runtime.executeToolWithTimeout({ toolPath: 'forever.ts', timeoutMs: 1_500, onLog }),
      );
      let runningSettled = false;
      void running.then(() => (runningSettled = true));
      await ready;
      const started = performance.now();
      const queued = await rejectionOf(
        runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', timeoutMs: 200 }),
      );
      expect(queued['kind']).toBe(ErrorKind.Timeout);
      expect(queued['message']).toContain('waiting for a free slot');
      // Its own deadline, not the slot: it settles before the running tool does.
      expect(runningSettled).toBe(false);
      expect(performance.now() - started).toBeLessThan(1_000);
      await running;
    });
  });
});

describe('bounded memory', () => {
  test('a 50 MB result against a 1 MB cap fails with output_limit without the manager holding it', async () => {
    await withRuntime(async (runtime) => {
      globalThis.gc?.();
      const before = process.memoryUsage();
      let peakExternal = 0;
      const sampler = setInterval(() => {
        const now = process.memoryUsage();
        peakExternal = Math.max(
          peakExternal,
          now.arrayBuffers + now.heapUsed - before.arrayBuffers - before.heapUsed,
        );
      }, 2);
      const error = await rejectionOf(
        runtime.executeToolWithTimeout({
          toolPath: 'huge-output.ts',
          limits: { maxOutputBytes: 1_000_000 },
        }),
      );
      clearInterval(sampler);
      expect(error['kind']).toBe(ErrorKind.OutputLimit);
      // The cap is 1 MB; what is buffered is bounded by it (plus stream chunks), far from 50 MB.
      expect(peakExternal).toBeLessThan(16 * 1024 * 1024);
    });
  });
});
