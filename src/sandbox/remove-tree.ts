/**
 * Removes an execution's temp dir, whatever the tool did to it. Never throws.
 */
import { chmodSync, readdirSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `rmdir` when the tool left the directory empty (the common case: one operation), else
 * `rm -rf`, and when that fails (a tool that is not root made a directory read-only, so its
 * entries cannot be unlinked) makes every directory writable and tries once more.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rmdir(path);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    // Not empty (or not removable as it is): fall through.
  }
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch {
    // fall through: fix permissions
  }
  makeWritable(path);
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
  } catch {
    // Nothing more to do without privileges; dispose() must not throw.
  }
}

function makeWritable(dir: string): void {
  try {
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) makeWritable(join(dir, entry.name));
    }
  } catch {
    // Best effort.
  }
}
