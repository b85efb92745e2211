/**
 * What importing a package costs a fresh Node process: each sample is one `node` that imports
 * the given specifiers from the package root (`toolcage` resolves to the package itself, through
 * its `exports`, the way an application's import does) and reports how long the imports took and
 * how much its RSS grew.
 */
import { execFile } from 'node:child_process';
import { interleave, median } from './stats.js';

/** One fresh process's import. */
export interface ImportSample {
  readonly ms: number;
  readonly rssMb: number;
}

// Runs inside the fresh process: argv[1] is the JSON list of specifiers.
const PROBE = `
const rss = process.memoryUsage().rss;
const started = performance.now();
for (const specifier of JSON.parse(process.argv[1])) await import(specifier);
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms, rssMb: (process.memoryUsage().rss - rss) / 2 ** 20 }));
`;

/** Imports `specifiers` in a fresh `node` whose working directory is `packageRoot`. */
export function importOnce(
  packageRoot: string,
  specifiers: readonly string[],
): Promise<ImportSample> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, JSON.stringify(specifiers)],
      { cwd: packageRoot, env: { PATH: process.env['PATH'] ?? '' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null)
          reject(new Error(`import of ${specifiers.join(', ')} failed: ${stderr}`));
        else resolve(JSON.parse(stdout) as ImportSample);
      },
    );
  });
}

/** Medians of `runs` interleaved samples of two imports. */
export async function compareImports(
  runs: number,
  a: { readonly root: string; readonly specifiers: readonly string[] },
  b: { readonly root: string; readonly specifiers: readonly string[] },
): Promise<{ a: ImportSample; b: ImportSample }> {
  const samples = { a: [] as ImportSample[], b: [] as ImportSample[] };
  const { a: ams, b: bms } = await interleave(
    runs,
    2,
    async () => {
      const sample = await importOnce(a.root, a.specifiers);
      samples.a.push(sample);
      return sample.ms;
    },
    async () => {
      const sample = await importOnce(b.root, b.specifiers);
      samples.b.push(sample);
      return sample.ms;
    },
  );
  // The warm-up pairs are in `samples` too: the RSS medians skip them the same way.
  const rss = (list: ImportSample[]) => median(list.slice(-runs).map((sample) => sample.rssMb));
  return {
    a: { ms: median(ams), rssMb: rss(samples.a) },
    b: { ms: median(bms), rssMb: rss(samples.b) },
  };
}
