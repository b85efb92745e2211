/**
 * Removes an execution's temp dir, whatever the tool did to it. Never throws.
 */
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `rm -rf` (synchronous when the caller knows the tree is `small`), and when that fails (a tool that is not root made a directory read-only, so its
 * entries cannot be unlinked) makes every directory writable and tries once more.
 */
export async function removeTree(path: string, small = false): Promise<void> {
  if (small) {
    // A few entries: synchronous removal is ~0.4 ms where the async one takes ~1.1 ms (one
    // thread-pool round trip per entry), and it is on the path of every execution.
    try {
      rmSync(path, { recursive: true, force: true });
      return;
    } catch {
      // fall through
    }
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
