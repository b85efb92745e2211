/**
 * Directories made ahead of the launch that needs them: its cgroups (cgroup.ts), and the host
 * temp dir of an unsandboxed one (workspace.ts). Making them (a mkdir per v1 hierarchy and the
 * limit writes; a mkdir on the host's filesystem) is on the path of every cold call; renaming
 * ready ones is not (docs/performance.md, "Cgroups made ahead"). A spare is made exactly as a
 * launch's own would be, and never used before it is taken: a fresh cgroup in every counter
 * (`failcnt`, `oom_kill`, `pids.events`), which a reused one could not be; an empty 0700 temp
 * dir. One spare per kind (the directories' parents, and a cgroup's limits), for at most
 * {@link MAX_KINDS} kinds. The next one is made once the execution that took one (or found
 * none) is over, when its plan is disposed of, on the next turn of the event loop: making it
 * while the process starts cost the start as much as it saved (two cores, both busy then). A
 * sandbox removes its own when it settles (a runtime's close), and the process's exit hook
 * whatever is left. rename(2) moves a spare onto its launch's name or fails: over an
 * empty directory planted there it replaces that directory with this one, and over anything else
 * it fails, and the launch makes its own (which then finds the name taken).
 */
import { renameSync } from 'node:fs';
import type { Background } from './background.js';
import { tryRmdir } from './cgroup-members.js';

/** Kinds of launch (hierarchies and limits) a sandbox keeps a spare for. */
const MAX_KINDS = 8;

// The sets that hold a spare, for the exit hook (registered with the first spare kept).
const everySet = new Set<SpareDirs>();
let exitHook = false;

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
export class SpareDirs {
  // Kind → the spare's directories, in the order of the launch's own (a kind names their
  // parents, so a launch of the kind has as many); oldest kind first.
  readonly #spares = new Map<string, readonly string[]>();
  readonly #making = new Set<string>();
  // Kinds taken (or found missing) whose next spare waits for makeWanted().
  readonly #wanted = new Map<string, () => readonly string[]>();
  readonly #background: Background;

  constructor(background: Background) {
    this.#background = background;
  }

  /**
   * Moves the spare of `kind` to `dirs` (one rename each): true when they are there now. False
   * when there was none, or a rename failed (nothing of the spare is left then, and the caller
   * makes its own).
   */
  take(kind: string, dirs: readonly string[]): boolean {
    const spare = this.#spares.get(kind);
    if (spare === undefined) return false;
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
   * Wants a spare of `kind`, made with `make` (which returns its directories, or throws having
   * left nothing) at the next {@link makeWanted}, unless there is one by then.
   */
  refill(kind: string, make: () => readonly string[]): void {
    if (!this.#spares.has(kind)) this.#wanted.set(kind, make);
  }

  /**
   * Makes the spares wanted so far, on the next turn of the event loop. In the sandbox's
   * background: its settling waits for them, then removes them.
   */
  makeWanted(): void {
    const wanted = [...this.#wanted];
    this.#wanted.clear();
    for (const [kind, make] of wanted) this.#make(kind, make);
  }

  #make(kind: string, make: () => readonly string[]): void {
    if (this.#spares.has(kind) || this.#making.has(kind)) return;
    this.#making.add(kind);
    const made = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#making.delete(kind);
      if (this.#spares.has(kind)) return;
      try {
        this.#keep(kind, make());
      } catch {
        // No spare: the next launch of this kind makes its own.
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
    this.#wanted.clear();
    for (const kind of [...this.#spares.keys()]) this.#remove(kind);
  }

  #keep(kind: string, dirs: readonly string[]): void {
    if (this.#spares.size >= MAX_KINDS) {
      const [oldest] = this.#spares.keys();
      this.#remove(oldest!);
    }
    this.#spares.set(kind, dirs);
    everySet.add(this);
    if (!exitHook) {
      exitHook = true;
      // A runtime never closed (its process exits) takes its spares with it, best effort.
      process.once('exit', removeEverySpare);
    }
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
