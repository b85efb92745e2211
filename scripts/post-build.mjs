// After tsc: makes the CLI executable (tsc does not keep modes), and builds the Bun side (the
// worker, the launcher and the tool builder) with `bun build --target=bun`. tsc emits none of it
// (tsconfig.json excludes it; tsconfig.bun.json typechecks it against Bun's types).
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveBunBinary } from '../dist/runtime/bun-binary.js';

chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);

// Why the worker is built by Bun: its output starts with the `// @bun` pragma, and Bun runs such
// a file without transpiling it again. tsc's plain-JS output is still re-transpiled by Bun at
// every start; measured on Bun 1.4.5 (median of 40 starts): the worker reaches its first line
// ≈ 0.45 ms sooner, ≈ 4 % of a trivial tool's cold latency. Every execution starts one worker.
// Each module the worker imports by URL at run time (fallback.js, its slow paths; egress.js; the
// builder, a build's "tool") is built on its own.
const BUN_SIDE = [
  'runtime/worker/main',
  'runtime/worker/run',
  'runtime/worker/fallback',
  'runtime/worker/egress',
  'runtime/launcher/main',
  'bundling/bun-compiler',
];
for (const name of BUN_SIDE) {
  const out = fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url));
  execFileSync(
    resolveBunBinary(),
    [
      'build',
      '--target=bun',
      '--format=esm',
      `--outfile=${out}`,
      fileURLToPath(new URL(`../src/${name}.ts`, import.meta.url)),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH ?? '' } },
  );
}
