/**
 * The end of a run that settled on its result (run-process.ts): the call has its outcome, and
 * what is left of the process goes here, off the call's path. What it writes from now on is
 * nobody's (its logs were disposed of before: never a log line, never `onLog`), and its streams
 * close on the next turn of the event loop, once the call has settled; it gets EXIT_GRACE_MS to
 * exit on its own — the worker exits right after its result — but never past its deadline, nor
 * once the runtime is closing; then it is killed. Whatever it left (grandchildren, a sandbox
 * still tearing down) is killed after its exit, as after any run.
 */
import type { ProcessEnd } from './process-end.js';
import type { SpawnedProcess } from './spawn.js';
import type { Stopper } from './stopper.js';

/**
 * How long a process that has delivered its whole result may take to exit before it is killed,
 * ms: far more than its exit takes (Bun's exit, then bwrap's; docs/performance.md, "A settled
 * process's exit"); what the tool does in the meantime (an exit handler, a child) cannot
 * change the call's outcome.
 */
export const EXIT_GRACE_MS = 100;

/**
 * The runtime's close as a teardown waits for it: a handler in the set the close runs, not an
 * 'abort' listener on its signal (teardowns in flight are many on a busy runtime, and Node warns
 * past ten listeners on one signal).
 */
export interface Hurry {
  readonly signal: AbortSignal;
  readonly handlers: Set<() => void>;
}

/** What bounds a teardown besides EXIT_GRACE_MS. */
export interface TeardownBounds {
  /** The execution's deadline, as a `performance.now()` time. */
  readonly deadlineAt: number;
  /** The runtime's close: the process is killed at once. */
  readonly hurry: Hurry | undefined;
}

/** How long, from now, a process that delivered its result may still run, ms (≤ 0: none). */
export function graceOf(bounds: TeardownBounds): number {
  return Math.min(EXIT_GRACE_MS, bounds.deadlineAt - performance.now());
}

/** Ends what is left of a settled run; settles with its exit once nothing of it is left. Never rejects. */
export async function tearDown(
  child: SpawnedProcess,
  stopper: Stopper,
  bounds: TeardownBounds,
): Promise<ProcessEnd> {
  // Closing four sockets cost the settling call ≈ 0.2 ms (docs/performance.md, "Closing a
  // settled run's streams"); a turn later, the call has its outcome.
  await new Promise<void>((resolve) => setImmediate(resolve));
  for (const stream of [child.stdout, child.stderr, child.result]) stream.destroy();
  child.stdin.destroy();
  if (!(await exitsWithin(child, graceOf(bounds), bounds.hurry))) stopper.kill();
  const end = await child.exited;
  stopper.killLeftovers();
  stopper.dispose();
  await child.closed;
  return end;
}

// Whether the process exits within `ms` (and before `hurry` aborts); the timer and the listener
// go as soon as either decides.
function exitsWithin(
  child: SpawnedProcess,
  ms: number,
  hurry: Hurry | undefined,
): Promise<boolean> {
  if (ms <= 0 || hurry?.signal.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (exited: boolean): void => {
      clearTimeout(timer);
      hurry?.handlers.delete(onHurry);
      resolve(exited);
    };
    const onHurry = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    hurry?.handlers.add(onHurry);
    void child.exited.then(() => done(true));
  });
}
