/**
 * A runtime's sweeps for what managers that are gone left behind (Sandbox.sweep): one at its
 * start, then one every {@link SWEEP_INTERVAL_MS} on an unref'd timer (it never keeps a process
 * alive), stopped by `close()`, which waits for a sweep under way.
 */

/** Time between two background sweeps of a runtime. */
export const SWEEP_INTERVAL_MS = 60_000;

/** The sweeps of one runtime. */
export interface Sweeper {
  /** Stops the timer; settles once no sweep runs. Never rejects. */
  stop(): Promise<void>;
}

/** Sweeps now and every `intervalMs`; a sweep still running when the next is due is not doubled. */
export function startSweeping(
  sweep: () => Promise<unknown>,
  intervalMs: number = SWEEP_INTERVAL_MS,
): Sweeper {
  let running: Promise<void> | undefined;
  const run = (): void => {
    running ??= sweep()
      .then(
        () => undefined,
        () => undefined, // A sweep never fails a runtime; the next one tries again.
      )
      .finally(() => {
        running = undefined;
      });
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
