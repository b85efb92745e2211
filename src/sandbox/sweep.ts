/**
 * Removes what managers that are gone left behind: their executions' temp dirs (and the
 * launcher's socket dir) under the temp root, and their cgroups. A manager stopped by SIGKILL
 * (or by a signal it does not handle) runs no clean-up of its own; the next runtime on the
 * machine sweeps at its start and then now and then (runtime/sweeper.ts).
 *
 * Only names that carry an owner (owner.ts) are judged: `toolcage-<pid>-<start>-…` and
 * `.toolcage-<pid>-<start>-…`, of this user. A live owner's are never touched, so runtimes of
 * several processes coexist. Names without an owner (made by toolcage before owners were
 * recorded) are left alone: nothing tells whether their maker still runs.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PARENT, versionOf } from './cgroup.js';
import { isAlive, listDirs, removeCgroups, tryRmdir } from './cgroup-members.js';
import type { CgroupLayout } from './cgroup-version.js';
import { canJudgeOwners, isOwnerAlive, ownerTag, parseOwner } from './owner.js';
import { removeTree } from './remove-tree.js';
import type { SweepReport } from './types.js';

/** The prefix of every temp dir or file toolcage makes, before its owner. */
export const TEMP_PREFIX = 'toolcage-';

/**
 * The start of a temp name this process owns, as the sweep reads it back (`OWNED` below):
 * `toolcage-<pid>-<start>-`, then `<kind>-` when given. Every temp dir or file toolcage makes
 * is named from here, so none can drift out of the sweep's sight.
 */
export function ownedTempPrefix(kind?: string): string {
  return `${TEMP_PREFIX}${ownerTag()}-${kind === undefined ? '' : `${kind}-`}`;
}

const OWNED = /^\.?toolcage-(\d+-\d+)-/;

/** Sweeps `tmpRoot` and the cgroups of `layout`. Never rejects. */
export async function sweepOrphans(
  tmpRoot: string,
  layout: CgroupLayout | undefined,
): Promise<SweepReport> {
  if (!canJudgeOwners()) return { tempDirs: [], cgroups: [] };
  // Cgroups first: killing what is left in them ends the processes that may still use a dir.
  const cgroups = layout === undefined ? [] : await sweepStaleCgroupsIn(layout);
  const tempDirs = await sweepTempRoot(tmpRoot);
  return { tempDirs, cgroups };
}

async function sweepTempRoot(tmpRoot: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(tmpRoot);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const owner = parseOwner(OWNED.exec(name)?.[1] ?? '');
    if (owner === undefined || isOwnerAlive(owner)) continue;
    const path = join(tmpRoot, name);
    try {
      // Only this user's: another user's are not ours to remove (and the sticky /tmp says so).
      if (uid !== undefined && (await lstat(path)).uid !== uid) continue;
    } catch {
      continue; // Gone meanwhile.
    }
    await removeTree(path);
    removed.push(path);
  }
  return removed;
}

/**
 * Removes the cgroups of managers that are gone: `toolcage/<pid>-<start>` directories whose
 * owner no longer runs (see owner.ts), and `toolcage/<pid>` ones (named so before the start
 * time was part of the name) whose pid is free. What is still in them is killed first (a tool
 * whose manager was SIGKILLed outlives it when nothing else killed it). Returns the directories
 * removed; one still busy is left for the next sweep. Never throws.
 */
export async function sweepStaleCgroupsIn(layout: CgroupLayout): Promise<string[]> {
  const removed: string[] = [];
  for (const hierarchyDir of versionOf(layout).hierarchies()) {
    const parent = join(hierarchyDir, PARENT);
    for (const name of listDirs(parent)) {
      if (!isStale(name)) continue;
      const manager = join(parent, name);
      const executions = listDirs(manager).map((execution) => join(manager, execution));
      removed.push(...(await removeCgroups(executions)));
      if (tryRmdir(manager)) removed.push(manager);
    }
  }
  return removed;
}

// A manager directory whose owner is gone.
function isStale(name: string): boolean {
  if (/^\d+$/.test(name)) return !isAlive(Number(name));
  const owner = parseOwner(name);
  return owner !== undefined && `${owner.pid}-${owner.start}` === name && !isOwnerAlive(owner);
}
