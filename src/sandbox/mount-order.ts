/** The order of bwrap's mounts (bwrap-args.ts): parents before what lies below them. */
import { dirname } from 'node:path';

/**
 * Mounts apply in order and a later one covers an earlier one at or above its path: so parents
 * go first (`/` granted for read comes before `/proc`, `/tmp` before a granted `/tmp/out`), and
 * at equal depth the order of bwrap-args.ts' `mounts()` holds (writes after reads of the same depth).
 */
export function orderMounts<M extends { readonly dest: string }>(list: M[]): M[] {
  return list
    .map((mount, index) => ({ mount, index, depth: depth(mount.dest) }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .map(({ mount }) => mount);
}

function depth(path: string): number {
  let count = 0;
  for (let p = path; p !== dirname(p); p = dirname(p)) count++;
  return count;
}
