/**
 * The package's entry points, as an application imports them (the built dist/, through the
 * `exports` of package.json): `toolcage` loads `@opentelemetry/api` and nothing else of
 * OpenTelemetry; the SDK and its exporters load only with `toolcage/telemetry`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Runs in a fresh `node` whose working directory is the package root (so `toolcage` resolves to
 * the package itself, through its `exports`): imports argv[1] and prints, as a JSON array of
 * paths, every module that import loaded — the ES modules, seen by a resolve hook registered
 * before the import, and the CommonJS ones, in require.cache (the OpenTelemetry packages are
 * CommonJS, and what they require() passes no ES module hook). The hooks run on a thread of
 * their own, so they append to a file that is read once the import is done.
 */
const PROBE = `
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const dir = mkdtempSync(join(tmpdir(), 'loaded-modules-'));
const file = join(dir, 'resolved');
const hooks = \`
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(file, result.url + '\\\\n');
  return result;
}\`;
register('data:text/javascript,' + encodeURIComponent(hooks), { data: { file } });
try {
  await import(process.argv[1]);
  const esm = readFileSync(file, 'utf8').split('\\n').filter((url) => url.startsWith('file:'));
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  const all = new Set([...esm.map((url) => fileURLToPath(url)), ...cjs]);
  process.stdout.write(JSON.stringify([...all].sort()));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
`;

// The files a fresh Node process loads for `import(specifier)`.
function loadedBy(specifier: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, specifier],
      { cwd: ROOT },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as string[]);
      },
    );
  });
}

// The OpenTelemetry packages among `files` (`@opentelemetry/sdk-metrics`, …).
function otelPackages(files: readonly string[]): string[] {
  const names = files
    .map((file) => /\/node_modules\/(@opentelemetry\/[^/]+)\//.exec(file)?.[1])
    .filter((name): name is string => name !== undefined);
  return [...new Set(names)].sort();
}

describe('the package entry points', () => {
  test('dist/ is built (npm test builds it first)', () => {
    expect(existsSync(`${ROOT}dist/index.js`), 'run `npm run build`').toBe(true);
  });

  test("import 'toolcage' loads @opentelemetry/api only, never the SDK or an exporter", async () => {
    const files = await loadedBy('toolcage');
    expect(files).toContain(`${ROOT}dist/index.js`);
    expect(otelPackages(files)).toEqual(['@opentelemetry/api']);
    // Nor the SDK wiring of toolcage/telemetry (names and instruments of the API are shared).
    const wiring = ['index', 'setup', 'export-guard', 'prometheus-endpoint'].map(
      (name) => `${ROOT}dist/telemetry/${name}.js`,
    );
    expect(files.filter((file) => wiring.includes(file))).toEqual([]);
  });

  test("import 'toolcage/telemetry' loads the SDK and its exporters (what the entry leaves out)", async () => {
    const packages = otelPackages(await loadedBy('toolcage/telemetry'));
    expect(packages).toEqual(
      expect.arrayContaining([
        '@opentelemetry/sdk-metrics',
        '@opentelemetry/sdk-trace-base',
        '@opentelemetry/exporter-metrics-otlp-http',
        '@opentelemetry/exporter-trace-otlp-http',
        '@opentelemetry/exporter-prometheus',
        '@opentelemetry/context-async-hooks',
      ]),
    );
  });

  test('the entry exports the runtime and no SDK wiring; the subpath exports setupTelemetry', async () => {
    const entry = (await import(`${ROOT}dist/index.js`)) as Record<string, unknown>;
    expect(Object.keys(entry).sort()).toEqual([
      'ERROR_KINDS',
      'ErrorKind',
      'ToolExecutionError',
      'closeDefaultRuntime',
      'closeOnSignals',
      'createToolRuntime',
      'executeToolWithTimeout',
      'isToolExecutionError',
    ]);
    const telemetry = (await import(`${ROOT}dist/telemetry/index.js`)) as Record<string, unknown>;
    expect(Object.keys(telemetry)).toEqual(['setupTelemetry']);
  });
});
