/**
 * The masks of one call: every secret-bearing entry (patterns.ts) of the directories the sandbox
 * shows, found by mask.ts, minus those a grant names exactly (`read: ['/x/.env']`). Not scanned: a
 * granted file, `node_modules`, `/proc`, `/dev`, `/sys`. A masked directory holding a path the
 * sandbox must show (a grant, the tool, Bun, the worker) cannot be covered whole — nothing can be
 * mounted inside the read-only empty directory that covers it — so its entries are masked instead,
 * down to that path.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { isInside } from '../sandbox/permissions.js';
import type { MaskedEntry, ResolvedPermissions } from '../sandbox/types.js';
import { linkTarget, type DirectoryMasks } from './mask.js';

const PSEUDO_FILESYSTEMS = ['/proc', '/dev', '/sys'];

/** What the sandbox shows of one call, besides its grants. */
export interface CallView {
  /** The tool's directory, shown whole (`bundle: false`). */
  readonly toolDir?: string;
  /** Other host paths bound inside: the tool's module, Bun, the worker's files. */
  readonly shown: readonly string[];
}

/** The entries to mask for a call with `permissions`. Throws a MaskScanError (see mask.ts). */
export function callMasks(
  masks: DirectoryMasks,
  view: CallView,
  permissions: ResolvedPermissions,
): readonly MaskedEntry[] {
  const grants = [...new Set([...permissions.read, ...permissions.write])];
  const roots = [...(view.toolDir === undefined ? [] : [view.toolDir]), ...grants].filter(
    scannable,
  );
  if (roots.length === 0) return [];
  const found = new Map<string, MaskedEntry>();
  for (const root of roots) for (const entry of masks.masks(root)) found.set(entry.path, entry);
  const shown = [...grants, ...(view.toolDir === undefined ? [] : [view.toolDir]), ...view.shown];
  const kept: MaskedEntry[] = [];
  for (const entry of found.values()) {
    if (grants.includes(entry.path)) continue;
    if (entry.type === 'directory' && shown.some((path) => isStrictlyInside(path, entry.path))) {
      kept.push(...around(entry.path, shown, roots));
    } else {
      kept.push(entry);
    }
  }
  return outermost(kept.filter((entry) => !grants.includes(entry.path)));
}

function scannable(path: string): boolean {
  if (path.split(sep).includes('node_modules')) return false;
  if (PSEUDO_FILESYSTEMS.some((pseudo) => isInside(path, pseudo))) return false;
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

// The entries of the masked directory `dir` that hold none of `shown`, masked one by one.
function around(dir: string, shown: readonly string[], roots: readonly string[]): MaskedEntry[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // Unreadable for us: unreadable inside too.
  }
  const masked: MaskedEntry[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (shown.includes(path)) continue;
    if (entry.isSymbolicLink()) {
      for (const root of roots.filter((candidate) => isInside(dir, candidate))) {
        const target = linkTarget(path, root);
        if (target !== undefined && !shown.some((p) => isInside(p, target.path)))
          masked.push(target);
      }
    } else if (entry.isDirectory() && shown.some((p) => isStrictlyInside(p, path))) {
      masked.push(...around(path, shown, roots));
    } else {
      masked.push({ path, type: entry.isDirectory() ? 'directory' : 'file' });
    }
  }
  return masked;
}

// Without the entries inside a masked directory (hidden with it), each path once.
function outermost(entries: readonly MaskedEntry[]): MaskedEntry[] {
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const dirs = [...byPath.values()].filter((entry) => entry.type === 'directory');
  return [...byPath.values()]
    .filter((entry) => !dirs.some((dir) => isStrictlyInside(entry.path, dir.path)))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function isStrictlyInside(path: string, parent: string): boolean {
  return path !== parent && isInside(path, parent);
}
