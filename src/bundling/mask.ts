/**
 * Scans a directory the sandbox shows — a `bundle: false` tool's own, or a granted one — for its
 * secret-bearing entries (patterns.ts), by name at every depth, links not followed, skipping
 * `node_modules` and masked directories; call-masks.ts assembles a call's masks. A tree past
 * `maxEntries` or `maxDepth` is refused rather than half-checked. A first call reads every
 * directory; later ones `stat` each and read again only those whose mtime changed (docs/secrets.md,
 * "Cost"); at most `MAX_KEPT_SCANS` scans are kept per runtime. A hard link to a secret under
 * another name is not found.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { isInside } from '../sandbox/permissions.js';
import type { MaskedEntry } from '../sandbox/types.js';
import type { NameMatcher } from './secret-patterns.js';

/** Entries a scan reads at most before it refuses the directory. */
export const MAX_SCANNED_ENTRIES = 50_000;
/** Directory levels below the scanned one a scan reads at most before it refuses it. */
export const MAX_SCAN_DEPTH = 32;
/** Scanned directories whose result a runtime keeps (the least recently used is dropped). */
export const MAX_KEPT_SCANS = 256;

/** The directory is too large to be checked for secret files. */
export class MaskScanError extends Error {
  override readonly name = 'MaskScanError';

  constructor(
    /** The directory that was being scanned. */
    readonly root: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ScanBounds {
  readonly maxEntries: number;
  readonly maxDepth: number;
}

/** One directory as read: what says that its entries changed, and what it holds. */
interface DirRecord {
  readonly mtimeMs: number;
  readonly ino: number;
  readonly entries: number;
  readonly masked: readonly MaskedEntry[];
  readonly subdirs: readonly string[];
}

interface Scan {
  readonly masked: readonly MaskedEntry[];
  /** Every directory read. */
  readonly dirs: ReadonlyMap<string, DirRecord>;
}

/** The masks of directories, scanned once and checked again at every call. */
export class DirectoryMasks {
  readonly #matcher: NameMatcher;
  readonly #bounds: ScanBounds;
  readonly #scans = new Map<string, Scan>();

  constructor(
    matcher: NameMatcher,
    bounds: ScanBounds = { maxEntries: MAX_SCANNED_ENTRIES, maxDepth: MAX_SCAN_DEPTH },
  ) {
    this.#matcher = matcher;
    this.#bounds = bounds;
  }

  /**
   * The entries to mask in `dir` (absolute). Throws {@link MaskScanError}. Only directories
   * changed since the last call are read again.
   */
  masks(dir: string): readonly MaskedEntry[] {
    const known = this.#scans.get(dir);
    this.#scans.delete(dir);
    const scan = scanDirectory(dir, this.#matcher, this.#bounds, known?.dirs);
    this.#scans.set(dir, scan);
    if (this.#scans.size > MAX_KEPT_SCANS) this.#scans.delete(this.#scans.keys().next().value!);
    return scan.masked;
  }
}

/**
 * Reads the tree under `root` (links not followed) and lists what to mask; a directory of
 * `previous` whose stat did not change is not read again.
 */
export function scanDirectory(
  root: string,
  matcher: NameMatcher,
  bounds: ScanBounds,
  previous?: ReadonlyMap<string, DirRecord>,
): Scan {
  const masked: MaskedEntry[] = [];
  const dirs = new Map<string, DirRecord>();
  const pending: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
  let seen = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { dir, depth } = next;
    // Stat before reading: an entry added in between changes the mtime we keep.
    const stat = statSync(dir, { throwIfNoEntry: false });
    if (stat === undefined) continue; // Gone meanwhile.
    let record = previous?.get(dir);
    if (record === undefined || record.mtimeMs !== stat.mtimeMs || record.ino !== stat.ino) {
      record = readDirectory(dir, stat, matcher, root);
    }
    dirs.set(dir, record);
    seen += record.entries;
    if (seen > bounds.maxEntries) {
      throw new MaskScanError(
        root,
        `${root} has more than ${bounds.maxEntries} entries outside node_modules, too many to check for secret files`,
      );
    }
    masked.push(...record.masked);
    for (const sub of record.subdirs) {
      if (depth + 1 > bounds.maxDepth) {
        throw new MaskScanError(
          root,
          `${root} is more than ${bounds.maxDepth} directories deep (${sub}), too deep to check for secret files`,
        );
      }
      pending.push({ dir: sub, depth: depth + 1 });
    }
  }
  return { masked, dirs };
}

function readDirectory(
  dir: string,
  stat: { readonly mtimeMs: number; readonly ino: number },
  matcher: NameMatcher,
  root: string,
): DirRecord {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    entries = []; // Unreadable for us: unreadable inside too.
  }
  const masked: MaskedEntry[] = [];
  const subdirs: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (matcher.matches(entry.name, dir)) {
      if (entry.isSymbolicLink()) {
        // A link leading out of the directory dangles inside the sandbox (or leads into a
        // directory scanned on its own); one inside it is masked where it leads (a mount on
        // the link itself would follow it anyway).
        const target = linkTarget(path, root);
        if (target !== undefined) masked.push(target);
      } else {
        masked.push({ path, type: entry.isDirectory() ? 'directory' : 'file' });
      }
    } else if (entry.isDirectory() && entry.name !== 'node_modules') {
      subdirs.push(path);
    }
  }
  return { mtimeMs: stat.mtimeMs, ino: stat.ino, entries: entries.length, masked, subdirs };
}

/**
 * Where the link `path` leads, as a path under `root` (which may itself be reached through a
 * link: the sandbox shows the tree at `root`), or undefined when it leads outside.
 */
export function linkTarget(path: string, root: string): MaskedEntry | undefined {
  try {
    const realRoot = realpathSync(root);
    const real = realpathSync(path);
    if (!isInside(real, realRoot) || real === realRoot) return undefined;
    return {
      path: join(root, relative(realRoot, real)),
      type: statSync(real).isDirectory() ? 'directory' : 'file',
    };
  } catch {
    return undefined; // Dangling on the host too.
  }
}
