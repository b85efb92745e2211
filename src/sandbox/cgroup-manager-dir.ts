/**
 * This process's own directory under each hierarchy, `toolcage/<pid>-<start>` (named by owner.ts):
 * made with the first execution there (and delegated), removed when a runtime closes with no
 * execution left in it, and at exit.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tryRmdir } from './cgroup-members.js';
import { removeEverySpare } from './spare-dirs.js';
import type { CgroupVersion } from './cgroup-version.js';

const createdRuntimeDirs = new Set<string>();
const withCpu = new Set<string>();
let exitHook = false;

/**
 * Removes this process's own `toolcage/<pid>-<start>` directories that no execution uses any more
 * (rmdir fails on one that still has a cgroup in it); the next execution makes them again. So a
 * runtime that closed leaves nothing, even if the process then ends without its 'exit' hook (as
 * one re-raising a signal does). Never throws.
 */
export function removeManagerCgroups(): void {
  for (const dir of createdRuntimeDirs) {
    if (tryRmdir(dir)) {
      createdRuntimeDirs.delete(dir);
      withCpu.delete(dir);
    }
  }
}

/** `toolcage/<pid>-<start>` of this process in a hierarchy, created (once) with its delegation. */
export function ensureManagerDir(version: CgroupVersion, dir: string, cpu: boolean): void {
  // Made once; delegated again when the cpu controller is first needed below it.
  if (createdRuntimeDirs.has(dir) && (!cpu || withCpu.has(dir))) return;
  if (cpu) withCpu.add(dir);
  const parent = dirname(dir);
  const hierarchyDir = dirname(parent);
  mkdirSync(dir, { recursive: true });
  version.delegate([hierarchyDir, parent, dir], cpu);
  if (createdRuntimeDirs.size === 0 && !exitHook) {
    exitHook = true;
    // Empty by then (every execution removes its own, the spares go first): rmdir at exit, best
    // effort.
    process.once('exit', () => {
      removeEverySpare();
      removeManagerCgroups();
    });
  }
  createdRuntimeDirs.add(dir);
}
