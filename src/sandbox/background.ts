/**
 * Clean-up that finishes after its execution has settled: removing the execution's cgroups and
 * temp dir, ending its egress session. Every process of the execution is dead before the
 * execution settles; what is left are directories, which the kernel (a cgroup whose killed tasks
 * are still exiting) or the filesystem take a moment to let go of (docs/performance.md, "rmdir
 * of a just-used directory"). Each owner (a sandbox, a runtime) tracks its own pieces, and its
 * close awaits them: one runtime's close() never waits for another's clean-up.
 */
export class Background {
  readonly #pending = new Set<Promise<void>>();

  /** Tracks `work` (which must never reject) until it settles. */
  add(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  /** Settles when every piece handed to {@link add} has, later ones too; never rejects. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
