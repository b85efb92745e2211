/**
 * A call settles once its whole result is in hand (fd 3 ended with a valid result message); its
 * process's teardown follows off the call's path (src/runtime/teardown.ts). What must still hold:
 * a result is never reported before it is whole; what the process does after its result cannot
 * change the outcome (it is killed, its later output ignored); nothing of it outlives its
 * deadline; runtime.close() waits for every teardown.
 */
import { PassThrough } from 'node:stream';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { ProcessEnd } from '../../src/runtime/process-end.js';
import type { SpawnedProcess } from '../../src/runtime/spawn.js';
import type { Stopper } from '../../src/runtime/stopper.js';
import { EXIT_GRACE_MS, tearDown } from '../../src/runtime/teardown.js';
import { expectNothingLeft, leftovers, openFds } from '../helpers/leaks.js';
import { fixtureRuntime, withRuntime } from '../helpers/runtime.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

const MISBEHAVES = {
  misbehaves: { path: 'result-then-misbehaves.ts', permissions: { run: true } },
} as const;

describe('a call settles on its whole result', () => {
  test('a process that misbehaves after its result (a grandchild, a stdout flood, a spin) cannot change the outcome, and is killed', async () => {
    await withRuntime({ tools: MISBEHAVES }, async (runtime) => {
      const lines: string[] = [];
      // Far beyond the grace: a call that waited for this process's exit would time out.
      const result = await runtime.executeToolWithTimeout({
        toolId: 'misbehaves',
        timeoutMs: 60_000,
        onLog: (_stream, line) => lines.push(line),
      });
      expect(result.output).toEqual({ first: true });
      expect(result.exitCode).toBe(0);
      const delivered = lines.length;
      // Nothing of it is left long before its deadline (the helper waits 2 s at most) ...
      await expectNothingLeft(baselineFds);
      // ... and what it printed after the call settled never reached onLog.
      expect(lines.length).toBe(delivered);
    });
  });

  test('a result is never reported before it is whole: fd 3 must have ended', async () => {
    await withRuntime(async (runtime) => {
      const result = await runtime.executeToolWithTimeout({ toolPath: 'result-in-pieces.ts' });
      expect(result.output).toEqual({ whole: true });
      // Whole after 150 ms, ended after 300 ms (by the exit).
      expect(result.durationMs).toBeGreaterThanOrEqual(300);
    });
  });

  test('logs written before the result are all in it, and all went to onLog before it settled', async () => {
    await withRuntime(async (runtime) => {
      for (let call = 0; call < 20; call++) {
        let streamed = 0;
        const result = await runtime.executeToolWithTimeout({
          toolPath: 'noisy-logs.ts',
          input: { lines: 50 },
          onLog: () => streamed++,
        });
        expect(result.logs.stdout).toContain('out line 49\n');
        expect(result.logs.stderr).toContain('err line 49\n');
        expect(streamed).toBe(100);
      }
    });
  });

  test('runtime.close() waits for the teardown of a call that settled on its result', async () => {
    const runtime = fixtureRuntime({ tools: MISBEHAVES });
    try {
      const result = await runtime.executeToolWithTimeout({ toolId: 'misbehaves' });
      expect(result.output).toEqual({ first: true });
    } finally {
      await runtime.close();
    }
    // Read at once, without the helper's wait: close() resolved only once all of it was gone.
    const left = leftovers();
    expect(left.processes).toEqual([]);
    expect(left.cgroups).toEqual([]);
  });
});

describe('the teardown after a result (units)', () => {
  // A process that exits only once it is killed, and the stopper that kills it.
  function lingering(): {
    child: SpawnedProcess;
    stopper: Stopper;
    killed: () => boolean;
    exitOnItsOwn: () => void;
  } {
    let exit!: (end: ProcessEnd) => void;
    const exited = new Promise<ProcessEnd>((resolve) => (exit = resolve));
    let killed = false;
    const streams = [new PassThrough(), new PassThrough(), new PassThrough(), new PassThrough()];
    const child = {
      pid: undefined,
      stdin: streams[0]!,
      stdout: streams[1]!,
      stderr: streams[2]!,
      result: streams[3]!,
      exited,
      closed: exited.then(() => {}),
      spawnError: () => undefined,
    } satisfies SpawnedProcess;
    const stopper = {
      kill: () => {
        killed = true;
        exit({ code: null, signal: 'SIGKILL' });
      },
      killLeftovers: () => {},
      dispose: () => {},
    } as unknown as Stopper;
    return {
      child,
      stopper,
      killed: () => killed,
      exitOnItsOwn: () => exit({ code: 0, signal: null }),
    };
  }

  test('a process past its deadline is killed at once, without its grace', async () => {
    const { child, stopper, killed } = lingering();
    const end = await tearDown(child, stopper, {
      deadlineAt: performance.now() - 1,
      hurry: undefined,
    });
    expect(killed()).toBe(true);
    expect(end.signal).toBe('SIGKILL');
    expect(child.stdout.destroyed && child.result.destroyed && child.stdin.destroyed).toBe(true);
  });

  test('a closing runtime kills at once', async () => {
    const { child, stopper, killed } = lingering();
    const closing = new AbortController();
    const handlers = new Set<() => void>();
    const tearing = tearDown(child, stopper, {
      deadlineAt: performance.now() + 60_000,
      hurry: { signal: closing.signal, handlers },
    });
    // As the runtime's close does: abort, then run the handlers.
    closing.abort();
    for (const handler of [...handlers]) handler();
    await tearing;
    expect(killed()).toBe(true);
  });

  test('a process that does not exit within the grace is killed; one that does is not', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const slow = lingering();
      const tearing = tearDown(slow.child, slow.stopper, {
        deadlineAt: performance.now() + 60_000,
        hurry: undefined,
      });
      await vi.advanceTimersByTimeAsync(EXIT_GRACE_MS - 1);
      expect(slow.killed()).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await tearing;
      expect(slow.killed()).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    const quick = lingering();
    const tearing = tearDown(quick.child, quick.stopper, {
      deadlineAt: performance.now() + 60_000,
      hurry: undefined,
    });
    quick.exitOnItsOwn();
    expect(await tearing).toEqual({ code: 0, signal: null });
    expect(quick.killed()).toBe(false);
  });
});

test('many teardowns in flight at once leave no listener pile on the runtime’s close (no MaxListenersExceededWarning)', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  try {
    await withRuntime({ sandbox: 'none', concurrency: 16 }, async (runtime) => {
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          Array.from({ length: 32 }, () =>
            runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', input: 'x' }),
          ),
        );
      }
    });
    // A warning is emitted on the next tick of its cause.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  } finally {
    process.off('warning', onWarning);
  }
});
