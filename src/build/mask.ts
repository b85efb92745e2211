/**
 * The masks of a `bundle: false` tool: its directory is bound as it is, and every secret-bearing
 * entry in it (see patterns.ts) is covered, so the tool sees neither `.env` nor `.git` beside it.
 *
 * What is scanned: the whole tree under the tool's directory, except `node_modules` (installed
 * packages, not the project's secrets, and often 10⁴–10⁵ entries) and the masked directories
 * themselves (hidden whole). Bounded: a tree of more than `maxEntries` entries is refused rather
 * than half-checked. Cost, measured on this 2-core machine under load: one `stat` and one
 * `readdir` per directory at the first call (≈ 20–30 µs each; toolcage's own repository without
 * node_modules, 44 directories: 1.4 ms); later calls `stat` each directory read (≈ 1–2 µs each;
 * the same tree: 0.05 ms) — an entry created, removed or renamed changes its directory's mtime —
 * and scan again only when one changed.
 * Masking is by name: a hard link to a secret under another name is not found.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { isInside } from '../sandbox/permissions.js';
import type { MaskedEntry, ResolvedPermissions } from '../sandbox/types.js';
import type { NameMatcher } from './patterns.js';

/** Entries a scan reads at most before it refuses the directory. */
export const MAX_SCANNED_ENTRIES = 20_000;

/** The directory is too large to be checked for secret files. */
export class MaskScanError extends Error {
  override readonly name = 'MaskScanError';
}

interface Scan {
  readonly masked: readonly MaskedEntry[];
  /** Every directory read, with what says that its entries changed. */
  readonly dirs: ReadonlyArray<{
    readonly path: string;
    readonly mtimeMs: number;
    readonly ino: number;
  }>;
}

/** The masks of tool directories, scanned once and checked again at every call. */
export class DirectoryMasks {
  readonly #matcher: NameMatcher;
  readonly #maxEntries: number;
  readonly #scans = new Map<string, Scan>();

  constructor(matcher: NameMatcher, maxEntries = MAX_SCANNED_ENTRIES) {
    this.#matcher = matcher;
    this.#maxEntries = maxEntries;
  }

  /** The entries to mask in `dir` (an absolute real path). Throws {@link MaskScanError}. */
  masks(dir: string): readonly MaskedEntry[] {
    const known = this.#scans.get(dir);
    if (known !== undefined && unchanged(known)) return known.masked;
    const scan = scanDirectory(dir, this.#matcher, this.#maxEntries);
    this.#scans.set(dir, scan);
    return scan.masked;
  }
}

/**
 * The masks a call keeps: an entry that a grant names, lies under, or contains is left visible —
 * the grant is explicit (and a mount over a granted path's parent would hide it).
 */
export function masksOutsideGrants(
  masked: readonly MaskedEntry[],
  permissions: ResolvedPermissions,
): readonly MaskedEntry[] {
  const grants = [...permissions.read, ...permissions.write];
  if (grants.length === 0) return masked;
  return masked.filter(
    (entry) => !grants.some((grant) => isInside(entry.path, grant) || isInside(grant, entry.path)),
  );
}

function unchanged(scan: Scan): boolean {
  for (const dir of scan.dirs) {
    const stat = statSync(dir.path, { throwIfNoEntry: false });
    if (stat === undefined || stat.mtimeMs !== dir.mtimeMs || stat.ino !== dir.ino) return false;
  }
  return true;
}

/** Reads the tree under `root` (depth-first, links not followed) and lists what to mask. */
export function scanDirectory(root: string, matcher: NameMatcher, maxEntries: number): Scan {
  const masked: MaskedEntry[] = [];
  const dirs: Array<{ path: string; mtimeMs: number; ino: number }> = [];
  const pending = [root];
  let seen = 0;
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    // Stat before reading: an entry added in between changes the mtime we keep.
    const stat = statSync(dir);
    dirs.push({ path: dir, mtimeMs: stat.mtimeMs, ino: stat.ino });
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // Unreadable for us: unreadable inside too.
    }
    seen += entries.length;
    if (seen > maxEntries) {
      throw new MaskScanError(
        `its directory ${root} has more than ${maxEntries} entries outside node_modules, too many to check for secret files`,
      );
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (matcher.matches(entry.name)) {
        const target = entry.isSymbolicLink() ? linkTarget(path, root) : undefined;
        if (entry.isSymbolicLink()) {
          // A link leading out of the directory dangles inside the sandbox; one inside it is
          // masked where it leads (a mount on the link itself would follow it anyway).
          if (target !== undefined) masked.push(target);
        } else {
          masked.push({ path, type: entry.isDirectory() ? 'directory' : 'file' });
        }
      } else if (entry.isDirectory() && entry.name !== 'node_modules') {
        pending.push(path);
      }
    }
  }
  return { masked, dirs };
}

function linkTarget(path: string, root: string): MaskedEntry | undefined {
  try {
    const real = realpathSync(path);
    if (!isInside(real, root) || real === root) return undefined;
    return { path: real, type: statSync(real).isDirectory() ? 'directory' : 'file' };
  } catch {
    return undefined; // Dangling on the host too.
  }
}
