import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runBare } from '../bare.js';
import { BARE_BUN, BUN, ms, type Row } from '../setup.js';
import { interleave, median, timed } from '../stats.js';
import { createToolRuntime, distModule } from '../toolcage.js';
import type * as Bundling from '../../src/runtime/bundler-host.js';
import type * as Freshness from '../../src/bundling/freshness.js';
import type * as Options from '../../src/runtime/runtime-options.js';
import type * as PackageFiles from '../../src/runtime/package-files.js';
import type * as ResolveTool from '../../src/runtime/resolve-tool.js';
import type * as SandboxModule from '../../src/sandbox/sandbox.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';

const RUNS = 40;
const WARMUP = 5;
const CHECKS = 2_000;

// A tool as people write it: zod (a devDependency of toolcage, for this case only) validates.
const TOOL = `import { z } from 'zod';

const Input = z.object({ city: z.string().min(1), days: z.number().int().min(1).max(14) });

export default function validate(input: unknown) {
  const { city, days } = Input.parse(input);
  return { city, days, ok: true };
}
`;
const INPUT = { city: 'Lyon', days: 3 };

export interface Project {
  readonly root: string;
  readonly tool: string;
  readonly cacheDir: string;
}

/**
 * A tool importing zod, cold and sandboxed: its bundle (a cache hit) against the same tool
 * unbundled with a read grant on node_modules (what it took before bundles); the per-call
 * freshness check; and the bundle's bytecode against a plain ESM bundle.
 */
export async function bundleRows(): Promise<Row[]> {
  const project = makeProject();
  try {
    return [
      await bundledVsUnbundled(project),
      await freshnessCheck(project),
      await bytecodeVsEsm(project),
    ];
  } finally {
    rmSync(project.root, { recursive: true, force: true });
    rmSync(`${project.root}-bare`, { recursive: true, force: true });
  }
}

/**
 * A project with the zod tool and zod in its node_modules: copied, not linked, so a read grant
 * on the project's node_modules covers it. The caller removes `root`.
 */
export function makeProject(name = 'bundle'): Project {
  const root = mkdtempSync(join(tmpdir(), `tc-bench-${name}-`));
  // A root manager runs the sandbox (and the build) as nobody, which must read the project.
  chmodSync(root, 0o755);
  const zod = dirname(createRequire(import.meta.url).resolve('zod/package.json'));
  cpSync(zod, join(root, 'node_modules/zod'), { recursive: true, dereference: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'bench', type: 'module' }));
  mkdirSync(join(root, 'tools'));
  const tool = join(root, 'tools/validate.ts');
  writeFileSync(tool, TOOL);
  return { root, tool, cacheDir: join(root, '.cache') };
}

async function bundledVsUnbundled(project: Project): Promise<Row> {
  const figure = 'zod tool, cold sandboxed: bundled (cache hit) vs unbundled + read grant';
  const runtime = (bundle: boolean): ToolRuntime =>
    createToolRuntime({
      rootDir: project.root,
      sandbox: 'bwrap',
      telemetry: false,
      cacheDir: project.cacheDir,
      tools: {
        validate: bundle
          ? { path: 'tools/validate.ts' }
          : {
              path: 'tools/validate.ts',
              bundle: false,
              permissions: { read: [join(project.root, 'node_modules')] },
            },
      },
    });
  const bundled = runtime(true);
  const unbundled = runtime(false);
  try {
    const call = (which: ToolRuntime) => () =>
      timed(() => which.executeToolWithTimeout({ toolId: 'validate', input: INPUT }));
    // The first bundled call builds; every measured one is a cache hit.
    await call(bundled)();
    const { a, b } = await interleave(RUNS, WARMUP, call(bundled), call(unbundled));
    const ratio = median(a) / median(b);
    return {
      figure,
      measured: ms(median(a)),
      baseline: ms(median(b)),
      value: `${ratio.toFixed(3)}×`,
      target: '≤ 0.80×',
      pass: ratio <= 0.8,
    };
  } catch (error) {
    return notMeasured(figure, '≤ 0.80×', error);
  } finally {
    await Promise.all([bundled.close(), unbundled.close()]);
  }
}

/**
 * What every call of a bundled tool pays to know its bundle is current: a stat of each input
 * and of the bundle (ToolBundler.module on a tool it has built), against hashing every input.
 */
async function freshnessCheck(project: Project): Promise<Row> {
  const figure = 'freshness check per call (zod tool)';
  const { createBundler } = await distModule<typeof Bundling>('runtime/bundler-host.js');
  const { hashFile } = await distModule<typeof Freshness>('bundling/freshness.js');
  const { normalizeOptions } = await distModule<typeof Options>('runtime/runtime-options.js');
  const { packageFiles } = await distModule<typeof PackageFiles>('runtime/package-files.js');
  const { resolveTool } = await distModule<typeof ResolveTool>('runtime/resolve-tool.js');
  const { createSandbox } = await distModule<typeof SandboxModule>('sandbox/sandbox.js');
  const options = normalizeOptions({
    rootDir: project.root,
    sandbox: 'bwrap',
    cacheDir: project.cacheDir,
  });
  const bundler = createBundler(options, {
    sandbox: createSandbox(),
    bunPath: BUN,
    bunVersion: () =>
      Promise.resolve(execFileSync(BUN, ['--version'], { encoding: 'utf8' }).trim()),
    files: packageFiles(),
  });
  try {
    const tool = resolveTool({ toolPath: 'tools/validate.ts' }, options);
    const permissions = { read: [], write: [], net: false, env: [], run: false };
    const wait = { signal: new AbortController().signal, timeoutMs: 120_000 };
    const built = await bundler.build(tool, wait);
    const checks: number[] = [];
    for (let i = 0; i < CHECKS; i++) {
      const started = performance.now();
      const module = bundler.module(tool, permissions, wait);
      checks.push(performance.now() - started);
      if (module instanceof Promise) throw new Error('the freshness check went to a build');
    }
    const inputs = built.manifest.inputs.map((input) => input.path);
    const hashing: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      for (const input of inputs) hashFile(input);
      hashing.push(performance.now() - started);
    }
    const check = median(checks.slice(100));
    return {
      figure: `${figure}: ${inputs.length} inputs, median of ${CHECKS - 100}`,
      measured: ms(check),
      baseline: `hashing them: ${ms(median(hashing))}`,
      value: `${(check / median(hashing)).toFixed(3)}×`,
      target: '≤ 0.30 ms',
      pass: check <= 0.3,
    };
  } catch (error) {
    return notMeasured(figure, '≤ 0.30 ms', error);
  } finally {
    await bundler.close();
  }
}

/**
 * Bytecode is kept only if it wins: the tool bundled as toolcage does (CommonJS with Bun
 * bytecode) against a plain ESM bundle, both run by the bare script (no sandbox, no toolcage).
 */
async function bytecodeVsEsm(project: Project): Promise<Row> {
  // Outside the project: its package.json says "type": "module", and there Bun hands a
  // CommonJS module's import() its exports unwrapped differently (toolcage's worker unwraps
  // both; the bare script does not).
  const out = `${project.root}-bare`;
  // --outdir: with bytecode there are two files (validate.js and validate.js.jsc).
  const build = (name: string, flags: string[]): string => {
    const outdir = join(out, name);
    execFileSync(BUN, ['build', '--target=bun', ...flags, `--outdir=${outdir}`, project.tool], {
      cwd: project.root,
      env: {},
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return join(outdir, 'validate.js');
  };
  const bytecode = build('bytecode', ['--format=cjs', '--bytecode']);
  const esm = build('esm', ['--format=esm']);
  const request = (toolPath: string): string => `${JSON.stringify({ toolPath, input: INPUT })}\n`;
  const { a, b } = await interleave(
    RUNS,
    WARMUP,
    () => timed(() => runBare(BARE_BUN, request(bytecode))),
    () => timed(() => runBare(BARE_BUN, request(esm))),
  );
  const ratio = median(a) / median(b);
  return {
    figure: 'zod bundle, bare bun: bytecode (CommonJS) vs plain ESM',
    measured: ms(median(a)),
    baseline: ms(median(b)),
    value: `${ratio.toFixed(3)}×`,
    target: '< 1.00× (kept)',
    pass: ratio < 1,
  };
}

function notMeasured(figure: string, target: string, error: unknown): Row {
  return {
    figure,
    measured: `not measured: ${error instanceof Error ? error.message : String(error)}`,
    baseline: '–',
    value: '–',
    target,
    pass: undefined,
  };
}
