/**
 * The Temporal packages are optional peers: `import 'toolcage'` never loads one, and
 * `toolcage/temporal` without them names the package to install. Checked on the built package
 * (dist/, as `npm test` builds it first) in fresh Node processes.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { runWatchingTemporal } from '../helpers/temporal-loads.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
const built = existsSync(join(DIST, 'temporal', 'index.js'));
if (!built) {
  console.warn(
    '\n*** SKIPPED: test/temporal/package-isolation.test.ts — dist/ is not built (`npm run build`; `npm test` builds first). ***\n',
  );
}

/** Imports `specifier` in a fresh Node; returns the @temporalio modules it loaded and the outcome. */
async function importIn(cwd: string, specifier: string) {
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
  const { stdout, stderr, loaded } = await runWatchingTemporal(
    ['--input-type=module', '-e', script],
    cwd,
  );
  return {
    result: JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      ok: boolean;
      exports?: string[];
      message?: string;
    },
    loaded,
    cached: Number(/CACHED (\d+)/.exec(stderr)?.[1]),
  };
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

    // Node takes the workflow entry through its `node` condition: the same exports as the file
    // Temporal's bundler takes.
    const viaNode = await importIn(ROOT, 'toolcage/temporal/workflow');
    const bundled = await importIn(ROOT, join(DIST, 'temporal', 'workflow.js'));
    expect(viaNode.result.ok).toBe(true);
    expect(viaNode.result.exports).toEqual(bundled.result.exports);
    expect(viaNode.result.exports).toContain('proxyToolActivities');
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
    // toolcage's own dependencies (package.json `dependencies`: OpenTelemetry, p-timeout, execa,
    // bun), linked. A link's real path is resolved: their own dependencies are found in the
    // repository, while toolcage (a copy) resolves from the app, where @temporalio is absent.
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const linked = new Set(Object.keys(dependencies).map((name) => name.split('/')[0]!));
    for (const name of linked) {
      symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name));
    }

    const main = await importIn(app, 'toolcage');
    expect(main.result).toMatchObject({ ok: true });
    expect(main.result.exports).toContain('createToolRuntime');

    const temporal = await importIn(app, 'toolcage/temporal');
    expect(temporal.result.ok).toBe(false);
    expect(temporal.result.message).toBe(
      'toolcage/temporal needs the package `@temporalio/activity`, which is not installed: run ' +
        '`npm install @temporalio/activity@1.24.x` (the @temporalio packages are optional peer dependencies of toolcage)',
    );

    const workflow = await importIn(app, 'toolcage/temporal/workflow');
    expect(workflow.result.ok).toBe(false);
    expect(workflow.result.message).toBe(
      'toolcage/temporal needs the package `@temporalio/workflow`, which is not installed: run ' +
        '`npm install @temporalio/workflow@1.24.x` (the @temporalio packages are optional peer dependencies of toolcage)',
    );

    // Types only: it loads without any of them.
    const testing = await importIn(app, 'toolcage/temporal/testing');
    expect(testing.result).toEqual({
      ok: true,
      exports: ['TEST_START_TO_CLOSE_MS', 'activityTestInfo'],
    });
    expect(testing.loaded).toEqual([]);
  });
});
