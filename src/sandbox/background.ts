/**
 * Clean-up that finishes after its execution has settled: removing the execution's cgroups and
 * its temp dir. Every process of the execution is dead before the execution settles; what is
 * left are directories, which the kernel (a cgroup whose killed tasks are still exiting) or the
 * filesystem (rmdir of a directory a process just used is slower than of a fresh one) take a
 * moment to let go of. Each piece is tracked, and
 * `runtime.close()` awaits {@link backgroundCleanupSettled}, so nothing outlives the runtime.
 */

const pending = new Set<Promise<void>>();

/** Tracks `work` (which must never reject) until it settles. */
export function inBackground(work: Promise<void>): void {
  pending.add(work);
  void work.finally(() => pending.delete(work));
}

/** Settles when every piece handed to {@link inBackground} has; never rejects. */
export async function backgroundCleanupSettled(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}
