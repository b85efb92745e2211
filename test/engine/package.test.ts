/**
 * `import('toolcage/engine')` from the built package, in a fresh Node process with a module
 * resolution hook that notes every module loaded: it works, and it loads `@opentelemetry/api`
 * and nothing else from outside toolcage — no OpenTelemetry SDK, no `@temporalio/*`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_ENGINE = join(ROOT, 'dist/engine/index.js');

// Resolution hook (runs on Node's hooks thread): appends every resolved URL to a file.
const hooks = (traceFile: string): string => `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(traceFile)}, result.url + '\\n');
  return result;
}`;

const dataUrl = (source: string): string => `data:text/javascript,${encodeURIComponent(source)}`;

// Imports the package by name (self-reference through package.json "exports"), uses it, and
// prints its exports and the CommonJS modules loaded (require.cache), which ESM hooks do not see.
const SCRIPT = `
import { createRequire } from 'node:module';
const engine = await import('toolcage/engine');
engine.recordAsyncStarted('task');
const value = await engine.waitForCompletion({
  workflowId: 'probe',
  poll: () => ({ done: true, state: 'COMPLETED', value: 'ok' }),
});
const cjs = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({ exports: Object.keys(engine).sort(), value, cjs }));
`;

test('dist/engine/index.js loads @opentelemetry/api only: no SDK, no @temporalio', async () => {
  expect(existsSync(DIST_ENGINE), `${DIST_ENGINE} is missing: run \`npm run build\``).toBe(true);
  const dir = await mkdtemp(join(tmpdir(), 'toolcage-engine-import-'));
  try {
    const traceFile = join(dir, 'resolved.txt');
    const register = `import { register } from 'node:module'; register(${JSON.stringify(dataUrl(hooks(traceFile)))});`;
    const { stdout } = await run(
      process.execPath,
      ['--import', dataUrl(register), '--input-type=module', '--eval', SCRIPT],
      { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '' } },
    );
    const result = JSON.parse(stdout) as { exports: string[]; value: string; cjs: string[] };
    expect(result.value).toBe('ok');
    expect(result.exports).toEqual(
      expect.arrayContaining([
        'createEngineKit',
        'executeWorkflowSync',
        'isWorkflowWaitError',
        'recordAsyncStarted',
        'waitForCompletion',
        'withAgentSpans',
        'withTaskSpan',
        'WorkflowWaitError',
      ]),
    );

    const loaded = [
      ...(await readFile(traceFile, 'utf8')).split('\n').filter(Boolean),
      ...result.cjs.map((path) => pathToFileURL(path).href),
    ];
    // It did load the built engine, through the package's own exports.
    expect(loaded).toContain(pathToFileURL(DIST_ENGINE).href);
    const packages = new Set(
      loaded
        .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
        .filter((name) => name !== undefined),
    );
    expect([...packages]).toEqual(['@opentelemetry/api']);
    expect(loaded.filter((url) => /@temporalio|sdk-|exporter-/.test(url))).toEqual([]);
    // Nothing of toolcage's SDK wiring either.
    expect(loaded.filter((url) => url.includes('/dist/telemetry/setup'))).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
