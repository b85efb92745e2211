/**
 * The Temporal packages are optional peers: `import 'toolcage'` never loads one, and
 * `toolcage/temporal` without them names the package to install. Checked on the built package
 * (dist/, as `npm test` builds it first) in fresh Node processes.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
const built = existsSync(join(DIST, 'temporal', 'index.js'));
if (!built) {
  console.warn(
    '\n*** SKIPPED: test/temporal/package-isolation.test.ts — dist/ is not built (`npm run build`; `npm test` builds first). ***\n',
  );
}

// Reports every load of a @temporalio module on stderr: ESM resolutions (a loader hook) and
// CommonJS loads (Module._load), which is how toolcage/temporal loads the SDK.
const WATCH = `
import Module, { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  "export async function resolve(s, c, n) { if (s.includes('@temporalio')) process.stderr.write('LOADED ' + s + '\\\\n'); return n(s, c); }"
));
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request.includes('@temporalio')) process.stderr.write('LOADED ' + request + '\\n');
  return load.call(this, request, ...rest);
};
`;

/** Imports `specifier` in a fresh Node; returns the @temporalio modules it loaded and the outcome. */
async function importIn(cwd: string, specifier: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tc-watch-'));
  const hook = join(dir, 'watch.mjs');
  writeFileSync(hook, WATCH);
  const script = `
    import { createRequire } from 'node:module';
    try {
      const module = await import(${JSON.stringify(specifier)});
      console.log(JSON.stringify({ ok: true, exports: Object.keys(module).sort() }));
    } catch (error) {
      console.log(JSON.stringify({ ok: false, message: error.message }));
    }
    const cached = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@temporalio'));
    console.error('CACHED ' + cached.length);
  `;
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', hook, '--input-type=module', '-e', script],
      { cwd },
    );
    const loaded = stderr.split('\n').filter((line) => line.startsWith('LOADED '));
    const cached = Number(/CACHED (\d+)/.exec(stderr)?.[1]);
    return {
      result: JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        ok: boolean;
        exports?: string[];
        message?: string;
      },
      loaded,
      cached,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!built)('the optional Temporal peers', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("import 'toolcage' loads no @temporalio module (and the check sees toolcage/temporal's)", async () => {
    const main = await importIn(ROOT, join(DIST, 'index.js'));
    expect(main.result.ok).toBe(true);
    expect(main.result.exports).toContain('createToolRuntime');
    expect(main.loaded).toEqual([]);
    expect(main.cached).toBe(0);

    const temporal = await importIn(ROOT, join(DIST, 'temporal', 'index.js'));
    expect(temporal.result.ok).toBe(true);
    expect(temporal.result.exports).toEqual(
      expect.arrayContaining(['createToolActivities', 'createToolWorker', 'WorkflowMetrics']),
    );
    expect(temporal.loaded).toEqual(
      expect.arrayContaining(['LOADED @temporalio/activity', 'LOADED @temporalio/common']),
    );
    // The worker package (native core, webpack) loads only when a worker is built.
    expect(temporal.loaded).not.toContain('LOADED @temporalio/worker');
    expect(temporal.cached).toBeGreaterThan(0);
  });

  test('installed without the Temporal packages: toolcage works, toolcage/temporal names what to install', async () => {
    // An application whose node_modules has toolcage (as packed: package.json + dist) and its
    // own dependencies, but no @temporalio package.
    const app = mkdtempSync(join(tmpdir(), 'tc-app-'));
    dirs.push(app);
    const pkg = join(app, 'node_modules', 'toolcage');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    cpSync(DIST, join(pkg, 'dist'), { recursive: true });
    // A link's real path is resolved: the OpenTelemetry packages' own dependencies are found in
    // the repository, while toolcage (a copy) resolves from the app, where @temporalio is absent.
    symlinkSync(
      join(ROOT, 'node_modules', '@opentelemetry'),
      join(app, 'node_modules', '@opentelemetry'),
    );

    const main = await importIn(app, 'toolcage');
    expect(main.result).toMatchObject({ ok: true });
    expect(main.result.exports).toContain('createToolRuntime');

    const temporal = await importIn(app, 'toolcage/temporal');
    expect(temporal.result.ok).toBe(false);
    expect(temporal.result.message).toBe(
      'toolcage/temporal needs the package `@temporalio/activity`, which is not installed: run ' +
        '`npm install @temporalio/activity@1.24.x` (the @temporalio packages are optional peer dependencies of toolcage)',
    );
  });
});
