/**
 * `import 'toolcage'` in two builds of the package, interleaved in fresh Node processes:
 *
 *   npm run build && node node_modules/vite-node/vite-node.mjs bench/import-cost.ts <other root> [runs]
 *
 * `<other root>` is another copy of the package (its package.json and dist/, with a
 * node_modules that resolves its dependencies), e.g. a build of an earlier commit. Prints the
 * median import time and RSS growth of each; `npm run bench` measures the entry against the
 * telemetry subpath in the same way (bench/cases/import.ts).
 */
import { fileURLToPath } from 'node:url';
import { compareImports } from './import-probe.js';

const other = process.argv[2];
if (other === undefined) {
  throw new Error('usage: import-cost.ts <root of another build of toolcage> [runs]');
}
const runs = Number(process.argv[3] ?? 30);
const here = fileURLToPath(new URL('..', import.meta.url));
const { a, b } = await compareImports(
  runs,
  { root: here, specifiers: ['toolcage'] },
  { root: other, specifiers: ['toolcage'] },
);
const line = (name: string, sample: { ms: number; rssMb: number }): string =>
  `${name.padEnd(60)}  ${sample.ms.toFixed(1).padStart(6)} ms  +${sample.rssMb.toFixed(1)} MB RSS`;
console.log(`import 'toolcage', medians of ${runs} fresh processes each (interleaved):`);
console.log(line(here, a));
console.log(line(other, b));
console.log(`ratio: ${(a.ms / b.ms).toFixed(3)}× time, ${(a.rssMb / b.rssMb).toFixed(3)}× RSS`);
