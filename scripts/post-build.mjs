// After tsc: makes the CLI executable (tsc does not keep modes), and rebuilds the Bun-side worker
// with `bun build --target=bun`.
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveBunBinary } from '../dist/runtime/bun-binary.js';

chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);

// Why the worker is built by Bun: its output starts with the `// @bun` pragma, and Bun runs such
// a file without transpiling it again. tsc's plain-JS output is still re-transpiled by Bun at
// every start; measured on Bun 1.4.5 (median of 40 starts): the worker reaches its first line
// ≈ 0.45 ms sooner, ≈ 4 % of a trivial tool's cold latency. Every execution starts one worker.
// Both worker modules: main.js (the entry) and fallback.js (its slow paths, imported by URL at
// run time, so each is built on its own).
for (const name of ['worker/main', 'worker/fallback', 'worker/egress', 'launcher/main']) {
  const out = fileURLToPath(new URL(`../dist/runtime/${name}.js`, import.meta.url));
  execFileSync(
    resolveBunBinary(),
    [
      'build',
      '--target=bun',
      '--format=esm',
      `--outfile=${out}`,
      fileURLToPath(new URL(`../src/runtime/${name}.ts`, import.meta.url)),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH ?? '' } },
  );
  // tsc's map describes the file just replaced.
  rmSync(`${out}.map`, { force: true });
}
