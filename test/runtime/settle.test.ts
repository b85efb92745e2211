/**
 * The README promises that nothing of an execution outlives it: no process, zombie, pipe, timer
 * or listener once its teardown is over (a call settles on its whole result, its process's
 * teardown follows). Processes, pipes and descriptors are checked after every test
 * (test/helpers/leaks.ts); this file checks the timers, which no /proc file shows.
 */
import { afterEach, beforeAll, expect, test, vi } from 'vitest';
import { expectNothingLeft, launcherProcesses, openFds } from '../helpers/leaks.js';
import { fixtureRuntime } from '../helpers/runtime.js';
import { launcherUnavailable } from '../helpers/plans.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

// Every timer started through the global setTimeout from now on, until it fires or is cleared.
// (process.getActiveResourcesInfo() cannot tell: it lists only timers that are ref'd.)
function trackTimers(): { pending(): number; restore(): void } {
  const pending = new Set<NodeJS.Timeout>();
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  globalThis.setTimeout = ((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const timer: NodeJS.Timeout = realSetTimeout(
      (...fired: unknown[]) => {
        pending.delete(timer);
        callback(...fired);
      },
      ms,
      ...args,
    );
    pending.add(timer);
    return timer;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((timer: NodeJS.Timeout | undefined) => {
    if (timer !== undefined) pending.delete(timer);
    realClearTimeout(timer);
  }) as typeof clearTimeout;
  return {
    pending: () => pending.size,
    restore() {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClearTimeout;
    },
  };
}

test.each(['launcher', 'fallback'] as const)(
  'an execution settles with none of its timers left (started by the %s)',
  async (way) => {
    // Unsandboxed, the tool's parent tells who spawned it: the manager, or its launcher.
    const restore = way === 'fallback' ? launcherUnavailable() : () => {};
    const runtime = fixtureRuntime({
      sandbox: 'none',
      tools: { parent: { path: 'reports-parent.ts', bundle: false } },
    });
    const timers = trackTimers();
    try {
      for (let call = 0; call < 3; call++) {
        const result = await runtime.executeToolWithTimeout<{ ppid: number }>({ toolId: 'parent' });
        // Read in the same turn as the settle. A call settles on its whole result, its process's
        // teardown after it (src/runtime/teardown.ts): its one timer, the bound of the wait for
        // the exit, goes with the exit; nothing else of the execution is pending.
        expect(timers.pending()).toBeLessThanOrEqual(1);
        await vi.waitFor(() => expect(timers.pending()).toBe(0), { timeout: 5_000 });
        const launchers = launcherProcesses().map((line) => Number(line.split(':')[0]));
        expect(launchers.includes(result.output.ppid) ? 'launcher' : 'fallback').toBe(way);
      }
    } finally {
      timers.restore();
      restore();
      await runtime.close();
    }
  },
);
