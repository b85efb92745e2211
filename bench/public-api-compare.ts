/**
 * The public API loop of bench/cases/public-api.ts for two builds of the package at once: this
 * checkout's dist/ and another's, each with a sandboxed runtime cold and one with `prewarm: 2`
 * (and one with `sandbox: 'none'`), every variant once per round in a rotating order, a pause
 * before and after each prewarmed call:
 *
 *   npm run build && node node_modules/vite-node/vite-node.mjs bench/public-api-compare.ts <other root> [rounds]
 *
 * `<other root>` is another copy of the package with its dist/ built (e.g. `git archive` of an
 * earlier commit, its node_modules linked). Each build gets a cache directory of its own.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { createToolRuntime as CreateToolRuntime } from '../src/runtime/runtime.js';
import type { ToolRuntime } from '../src/runtime/runtime.js';
import { median, quantile, timed } from './stats.js';
import { until } from './setup.js';

const other = process.argv[2];
if (other === undefined) throw new Error('usage: public-api-compare.ts <other root> [rounds]');
const rounds = Number(process.argv[3] ?? 40);
const here = fileURLToPath(new URL('..', import.meta.url));
const PAUSE_MS = 40;

const dir = mkdtempSync(join(tmpdir(), 'toolcage-bench-compare-'));
chmodSync(dir, 0o755);
writeFileSync(join(dir, 'sum.ts'), 'export default (i) => ({ sum: i.a + i.b });\n', {
  mode: 0o644,
});

interface Build {
  readonly name: string;
  readonly none: ToolRuntime;
  readonly cold: ToolRuntime;
  readonly warm: ToolRuntime;
  readonly cacheDir: string;
  warmed: boolean;
}

async function load(root: string, name: string): Promise<Build> {
  const url = pathToFileURL(join(resolve(root), 'dist/runtime/runtime.js')).href;
  const { createToolRuntime } = (await import(url)) as {
    createToolRuntime: typeof CreateToolRuntime;
  };
  const cacheDir = mkdtempSync(join(tmpdir(), 'toolcage-bench-compare-cache-'));
  // A root manager builds as the sandbox user, which must write there.
  chmodSync(cacheDir, 0o777);
  const base = { rootDir: dir, cacheDir };
  return {
    name,
    none: createToolRuntime({ ...base, sandbox: 'none' }),
    cold: createToolRuntime({ ...base, sandbox: 'bwrap' }),
    warm: createToolRuntime({ ...base, sandbox: 'bwrap', prewarm: 2 }),
    cacheDir,
    warmed: false,
  };
}

const call = (runtime: ToolRuntime): Promise<unknown> =>
  runtime.executeToolWithTimeout({ toolPath: join(dir, 'sum.ts'), input: { a: 1, b: 2 } });
const pause = (): Promise<void> => new Promise((done) => setTimeout(done, PAUSE_MS));

const builds = [await load(here, 'this checkout'), await load(other, other)];
const variants = builds.flatMap((build) => [
  { name: `${build.name}: none`, run: () => timed(() => call(build.none)) },
  { name: `${build.name}: cold`, run: () => timed(() => call(build.cold)) },
  {
    name: `${build.name}: prewarm`,
    run: async () => {
      if (build.warmed) await until(() => build.warm.stats.idleProcesses >= 1);
      await pause();
      const took = await timed(() => call(build.warm));
      build.warmed = true;
      await pause();
      return took;
    },
  },
]);
const samples = variants.map(() => [] as number[]);
try {
  for (let round = 0; round < rounds + 3; round++) {
    for (let k = 0; k < variants.length; k++) {
      const index = (round + k) % variants.length;
      const took = await variants[index]!.run();
      if (round >= 3) samples[index]!.push(took);
    }
  }
  const med = (name: string): number =>
    median(samples[variants.findIndex((v) => v.name === name)]!);
  variants.forEach((variant, index) => {
    const values = samples[index]!;
    console.log(
      `${variant.name.padEnd(50)} ${median(values).toFixed(2).padStart(7)} ms  (p25 ${quantile(values, 0.25).toFixed(2)}, p75 ${quantile(values, 0.75).toFixed(2)})`,
    );
  });
  for (const build of builds) {
    const ratio = med(`${build.name}: prewarm`) / med(`${build.name}: cold`);
    console.log(`${build.name}: prewarmed / cold = ${ratio.toFixed(3)}×`);
  }
} finally {
  for (const build of builds) {
    await Promise.all([build.none.close(), build.cold.close(), build.warm.close()]);
    rmSync(build.cacheDir, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
}
