/**
 * Cgroups made ahead of the launch that needs them. Making an execution's cgroups (a mkdir per
 * v1 hierarchy, and the limit writes) is on the path of every cold call; renaming ready ones is
 * not (docs/performance.md, "Cgroups made ahead"). A spare is made exactly as an execution's
 * cgroups are, limits written, and never used before it is taken: a fresh cgroup in every counter
 * (`failcnt`, `oom_kill`, `pids.events`), which a reused one could not be. One spare per kind of
 * launch (its hierarchies and limits), for at most {@link MAX_KINDS} kinds, made on the next turn
 * of the event loop after a launch took it or found none; a sandbox removes its own when it
 * settles (a runtime's close), and the process's exit hook whatever is left.
 */
import { renameSync } from 'node:fs';
import type { Background } from './background.js';
import { tryRmdir } from './cgroup-members.js';

/** Kinds of launch (hierarchies and limits) a sandbox keeps a spare for. */
const MAX_KINDS = 8;

// The sets that hold a spare, for the exit hook.
const everySet = new Set<SpareCgroups>();

/**
 * The directories of the spares held now, by every sandbox of this process: made ahead for a
 * runtime that is open, not left behind by an execution (what a leak check must tell apart).
 */
export function heldSpareDirs(): Set<string> {
  const dirs = new Set<string>();
  for (const spares of everySet) for (const dir of spares.dirs()) dirs.add(dir);
  return dirs;
}

/** Removes the spares of every sandbox of this process (at exit). Never throws. */
export function removeEverySpare(): void {
  for (const spares of everySet) spares.removeAll();
}

/** One sandbox's spares, by kind of launch. */
export class SpareCgroups {
  // Kind → the spare's directories, in the order of the launch's own; oldest kind first.
  readonly #spares = new Map<string, readonly string[]>();
  readonly #making = new Set<string>();
  readonly #background: Background;

  constructor(background: Background) {
    this.#background = background;
  }

  /**
   * Moves the spare of `kind` to `dirs` (one rename per hierarchy): true when they are there now.
   * False when there was none, or a rename failed (nothing of the spare is left then, and the
   * caller makes its cgroups itself).
   */
  take(kind: string, dirs: readonly string[]): boolean {
    const spare = this.#spares.get(kind);
    if (spare === undefined || spare.length !== dirs.length) return false;
    this.#forget(kind);
    let moved = 0;
    try {
      for (; moved < dirs.length; moved++) renameSync(spare[moved]!, dirs[moved]!);
      return true;
    } catch {
      for (const dir of [...dirs.slice(0, moved), ...spare.slice(moved)]) tryRmdir(dir);
      return false;
    }
  }

  /**
   * Makes a spare of `kind` with `make` (which returns its directories, or throws having left
   * nothing) on the next turn of the event loop, unless there is one. In the sandbox's
   * background: its settling waits for it, then removes it.
   */
  refill(kind: string, make: () => readonly string[]): void {
    if (this.#spares.has(kind) || this.#making.has(kind)) return;
    this.#making.add(kind);
    const made = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#making.delete(kind);
      if (this.#spares.has(kind)) return;
      try {
        this.#keep(kind, make());
      } catch {
        // No spare: the next launch of this kind makes its cgroups itself.
      }
    });
    this.#background.add(made);
  }

  /** The directories of the spares held now. */
  dirs(): string[] {
    return [...this.#spares.values()].flat();
  }

  /** Removes every spare now (the next launch of a kind has its next one made). Never throws. */
  removeAll(): void {
    for (const kind of [...this.#spares.keys()]) this.#remove(kind);
  }

  #keep(kind: string, dirs: readonly string[]): void {
    if (this.#spares.size >= MAX_KINDS) {
      const [oldest] = this.#spares.keys();
      this.#remove(oldest!);
    }
    this.#spares.set(kind, dirs);
    everySet.add(this);
  }

  #remove(kind: string): void {
    for (const dir of this.#spares.get(kind) ?? []) tryRmdir(dir);
    this.#forget(kind);
  }

  #forget(kind: string): void {
    this.#spares.delete(kind);
    if (this.#spares.size === 0) everySet.delete(this);
  }
}
