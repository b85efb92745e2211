/**
 * What a bundle's source map costs, a tool importing zod 4 (the bench's `bundle` case):
 *
 *   npm run build && node node_modules/vite-node/vite-node.mjs bench/source-map.ts [runs]
 *
 * - the build: `bun build` as toolcage builds (CommonJS, bytecode), with an external map vs
 *   none, interleaved fresh processes;
 * - the files: the bundle, its bytecode and its map as toolcage stores it;
 * - a cold sandboxed call through toolcage (a cache hit), the map beside the bundle vs moved
 *   away (the sandbox's bind of it is `-try`), once returning and once throwing (a ZodError,
 *   whose stack Bun maps through the map).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject } from './cases/bundle.js';
import { BUN } from './setup.js';
import { interleave, median, timed } from './stats.js';
import { createToolRuntime } from './toolcage.js';

const RUNS = Number(process.argv[2] ?? 30);
const { root, tool, cacheDir } = makeProject('sourcemap');
const line = (name: string, a: string, b: string, note = ''): void =>
  console.log(`${name.padEnd(58)} ${a.padStart(10)} ${b.padStart(10)}  ${note}`);
const ms = (values: number[]): string => `${median(values).toFixed(2)} ms`;

try {
  const build = (sourcemap: string) => (): Promise<number> =>
    timed(() => {
      const outdir = join(root, `out-${sourcemap}`);
      execFileSync(
        BUN,
        [
          'build',
          '--target=bun',
          '--format=cjs',
          '--bytecode',
          `--sourcemap=${sourcemap}`,
          `--outdir=${outdir}`,
          tool,
        ],
        { cwd: root, env: {}, stdio: 'ignore', input: '' },
      );
      rmSync(outdir, { recursive: true, force: true });
      return Promise.resolve();
    });
  const builds = await interleave(Math.min(RUNS, 20), 2, build('external'), build('none'));
  console.log(`medians, ${RUNS} runs each, interleaved (A, B, A, B…)`);
  line('', 'A', 'B');
  line('bun build, external map (A) vs none (B)', ms(builds.a), ms(builds.b));

  const runtime = createToolRuntime({
    rootDir: root,
    sandbox: 'bwrap',
    telemetry: false,
    cacheDir,
  });
  try {
    const call = (input: unknown) => () =>
      timed(() =>
        runtime.executeToolWithTimeout({ toolPath: 'tools/validate.ts', input }).catch(() => {}),
      );
    await call({ city: 'Lyon', days: 3 })();
    const bundles = join(cacheDir, 'v1/bundles');
    const map = join(
      bundles,
      readdirSync(bundles).find((name) => name.endsWith('.map'))!,
    );
    const size = (suffix: string): string =>
      `${(statSync(map.replace(/\.map$/, suffix)).size / 1024).toFixed(1)} KiB`;
    line('files: bundle, bytecode, map', size(''), size('.jsc'), `map ${size('.map')}`);
    const without = (measure: () => Promise<number>) => async (): Promise<number> => {
      renameSync(map, `${map}.off`);
      try {
        return await measure();
      } finally {
        renameSync(`${map}.off`, map);
      }
    };
    for (const [name, input] of [
      ['returns', { city: 'Lyon', days: 3 }],
      ['throws (ZodError)', { city: '' }],
    ] as const) {
      const { a, b } = await interleave(RUNS, 5, call(input), without(call(input)));
      line(`cold sandboxed call, ${name}: with map (A) vs without (B)`, ms(a), ms(b));
    }
  } finally {
    await runtime.close();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
