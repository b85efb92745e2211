/**
 * The cost of masking the secrets of a granted directory (src/bundling/call-masks.ts, mask.ts):
 *
 *   node node_modules/vite-node/vite-node.mjs bench/masks.ts [files] [runs]
 *
 * Makes a tree of `files` files (default 10,000: 100 directories of 100, two levels deep, with
 * a few secrets among them) under /var/tmp, then measures, median of `runs`: the first call of
 * a runtime (a full scan), a later call (every directory read is `stat`ed, nothing changed), and
 * a call after one secret was added (that directory's mtime changed: scanned again). The figures
 * are written into docs/secrets.md by hand.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callMasks } from '../src/bundling/call-masks.js';
import { DirectoryMasks } from '../src/bundling/mask.js';
import { compileMaskPatterns } from '../src/bundling/secret-patterns.js';
import { resolvePermissions } from '../src/sandbox/permissions.js';
import { median } from './stats.js';

const files = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 30);
const root = join('/var/tmp', `toolcage-bench-masks-${process.pid}`);
const perDir = 100;
const dirs = Math.ceil(files / perDir);
for (let d = 0; d < dirs; d++) {
  const dir = join(root, `group${d % 10}`, `dir${d}`);
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < perDir && d * perDir + f < files; f++) {
    writeFileSync(join(dir, f === 0 && d % 25 === 0 ? '.env' : `file${f}.json`), '{}');
  }
}
mkdirSync(join(root, '.git/objects'), { recursive: true });

const matcher = compileMaskPatterns();
const permissions = resolvePermissions({ read: [root] });
const time = (run: () => unknown): number => {
  const start = performance.now();
  run();
  return performance.now() - start;
};
try {
  const cold: number[] = [];
  const warm: number[] = [];
  const changed: number[] = [];
  let masked = 0;
  for (let i = 0; i < runs; i++) {
    const masks = new DirectoryMasks(matcher);
    cold.push(time(() => (masked = callMasks(masks, { shown: [] }, permissions).length)));
    for (let j = 0; j < 10; j++)
      warm.push(time(() => callMasks(masks, { shown: [] }, permissions)));
    writeFileSync(join(root, 'group3', 'dir3', `.env.${i}`), 'x');
    changed.push(time(() => callMasks(masks, { shown: [] }, permissions)));
  }
  const show = (values: number[]): string => `${median(values).toFixed(2)} ms`;
  console.log(`${files} files in ${dirs + 11} directories, ${masked} masks`);
  console.log(`first call (full scan):        ${show(cold)}`);
  console.log(`later call (stat per dir):     ${show(warm)}`);
  console.log(`after a secret was added (1 dir read again): ${show(changed)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
