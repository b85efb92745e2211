/**
 * Tools as people write them, end to end: real Bun, real bubblewrap. A project whose
 * `tools/validate.ts` imports npm packages hoisted to its root, a workspace package through a
 * symlink, a tsconfig alias and JSON runs sandboxed with no grants; nothing beside the tool is
 * readable, bundled or not; a build that would run the project's code is refused without
 * running it; and no build leaves anything behind.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { resolveBunBinary } from '../../src/runtime/bun-binary.js';
import { packageFiles } from '../../src/runtime/package-files.js';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import type { WorkerRequest } from '../../src/runtime/worker/protocol.js';
import type { ToolRuntimeOptions } from '../../src/runtime/runtime-options.js';
import { useBuildFixture } from '../helpers/build-fixture.js';
import { listBundleFiles } from '../../src/bundling/cache-evict.js';
import { OTHER_TOOL_MARKER, SECRETS } from '../helpers/project.js';
import { rejectionOf } from '../helpers/runtime.js';
import { until } from '../helpers/until.js';
import { sandboxAvailability } from '../sandbox/harness.js';

const available = await sandboxAvailability();

const runtimes: ToolRuntime[] = [];
// Before each test a fresh project and cache; after it, nothing of any build may be left.
const fixture = useBuildFixture(() =>
  Promise.all(runtimes.splice(0).map((created) => created.close())),
);

function runtime(options: ToolRuntimeOptions = {}): ToolRuntime {
  const created = createToolRuntime({
    rootDir: fixture.project.root,
    sandbox: 'bwrap',
    telemetry: false,
    cacheDir: fixture.cacheDir,
    ...options,
  });
  runtimes.push(created);
  return created;
}

// Everything a failure could carry back, so that a test can say no secret is in it.
function everything(value: unknown): string {
  return JSON.stringify(value, Object.getOwnPropertyNames(value ?? {}));
}

describe.skipIf(!available.ok)('bundled tools (Bun.build, bwrap)', () => {
  test('a tool importing hoisted packages, package exports, a linked workspace package, a tsconfig alias and JSON runs with no grants', async () => {
    const result = await runtime().executeToolWithTimeout({
      toolPath: 'tools/validate.ts',
      input: { city: 'Lyon', days: 3 },
    });
    expect(result.output).toEqual({
      city: 'LYON',
      days: '3 days',
      range: '2025-06-01..2025-06-04',
    });
    expect(result.enforcement).toMatchObject({ sandbox: 'bwrap', filesystem: 'bundle' });
    // The tool's own validation error is the tool's error.
    const invalid = await rejectionOf(
      runtimes[0]!.executeToolWithTimeout({ toolPath: 'tools/validate.ts', input: { city: '' } }),
    );
    expect(invalid['kind']).toBe(ErrorKind.ToolError);
    expect(invalid['message']).toContain('expected a non-empty string');
  });

  test.each([
    ['.env', SECRETS.toolEnv],
    ['../.env', SECRETS.projectEnv],
    ['server.key', SECRETS.key],
    ['../.git/config', SECRETS.gitConfig],
    ['other.ts', OTHER_TOOL_MARKER],
    ['../admin/deploy.ts', OTHER_TOOL_MARKER],
    ['notes.txt', 'not a secret'],
  ])('bundled: reading %s beside the tool is permission_denied', async (path, secret) => {
    const error = await rejectionOf(
      runtime().executeToolWithTimeout({ toolPath: 'tools/reader.ts', input: { path } }),
    );
    // The tool asked for the path relative to its own directory: the bundle runs at the tool's
    // path, so `import.meta.dir` is the tool's, and the file is simply not in the view.
    expect(error['kind']).toBe(ErrorKind.PermissionDenied);
    expect(error['message']).toContain(`read of ${join(fixture.project.root, 'tools', path)}`);
    expect(everything(error)).not.toContain(secret);
  });

  test('bundle: false: the directory is readable, its secrets are masked, nothing outside it is visible', async () => {
    fixture.project.write('tools/.git/config', SECRETS.gitConfig);
    const created = runtime({ tools: { reader: { path: 'tools/reader.ts', bundle: false } } });
    const read = (path: string) =>
      created.executeToolWithTimeout({ toolId: 'reader', input: { path } });
    const notes = await read('notes.txt');
    expect(notes.output).toBe('not a secret\n');
    expect(notes.enforcement.filesystem).toBe('directory (masked)');
    for (const [path, secret] of [
      ['.env', SECRETS.toolEnv],
      ['server.key', SECRETS.key],
      ['.git/config', SECRETS.gitConfig],
      ['../.env', SECRETS.projectEnv],
      ['../.git/config', SECRETS.gitConfig],
      ['../admin/deploy.ts', OTHER_TOOL_MARKER],
    ] as const) {
      const error = await rejectionOf(read(path));
      expect(everything(error), path).not.toContain(secret);
      // A masked file cannot be opened (EACCES); a masked directory is empty and anything
      // outside the directory is not there (ENOENT): both a permission_denied, but a file
      // missing from the (visible, emptied) masked directory, which reads as the tool's own.
      const code = (error['toolError'] as { code?: string } | undefined)?.code;
      expect([ErrorKind.PermissionDenied, ErrorKind.ToolError], path).toContain(error['kind']);
      expect(['EACCES', 'ENOENT'], path).toContain(code);
      if (path !== '.git/config') expect(error['kind'], path).toBe(ErrorKind.PermissionDenied);
    }
    // A secret created after the first calls is masked at the next one.
    fixture.project.write('tools/.env.production', 'LATE_SECRET=late-4242');
    const late = await rejectionOf(read('.env.production'));
    expect(everything(late)).not.toContain('late-4242');
    expect(late['kind']).toBe(ErrorKind.PermissionDenied);
  });

  test('the bundle runs wherever it lies: at the tool’s path, at its cache path under a grant on the tool’s directory, and unsandboxed from a cache inside a "type": "module" project', async () => {
    const input = { city: 'Lyon', days: 1 };
    const expected = { city: 'LYON', days: '1 day' };
    const granted = await runtime({
      defaults: { permissions: { read: [fixture.project.path('tools')] } },
    }).executeToolWithTimeout({ toolPath: 'tools/validate.ts', input });
    expect(granted.output).toMatchObject(expected);
    // With the grant the directory is the tool's to read, as granted.
    const notes = await runtimes[0]!.executeToolWithTimeout({
      toolPath: 'tools/reader.ts',
      input: { path: 'notes.txt' },
    });
    expect(notes.output).toBe('not a secret\n');
    // A grant of the tool's own source is not mounted over its bundle.
    const ownFile = await runtime({
      defaults: { permissions: { read: [fixture.project.path('tools/validate.ts')] } },
    }).executeToolWithTimeout({ toolPath: 'tools/validate.ts', input });
    expect(ownFile.output).toMatchObject(expected);
    const unsandboxed = await runtime({
      sandbox: 'none',
      cacheDir: fixture.project.path('.cache/toolcage'),
    }).executeToolWithTimeout({ toolPath: 'tools/validate.ts', input });
    expect(unsandboxed.output).toMatchObject(expected);
    expect(unsandboxed.enforcement.filesystem).toBe('host');
  });

  // What the carried worker (src/runtime/worker/run.ts) must keep of an import: the tool's top
  // level runs after the request's variables are set, and the tool never sees the loader.
  test.each([
    ['bwrap', 0],
    ['none', 0],
    ['bwrap', 1],
  ] as const)(
    'sandbox %s, prewarm %d: the process runs the bundle, which carries the worker; the tool’s top level sees its variables',
    async (sandbox, prewarm) => {
      fixture.project.write(
        'tools/top-level.ts',
        [
          "const atLoad = { value: process.env['TOP_LEVEL_VALUE'] ?? null, symbols: Object.getOwnPropertySymbols(globalThis).map(String) };",
          'export default () => ({ ...atLoad, entry: process.argv[1] });',
          '',
        ].join('\n'),
      );
      const created = runtime({
        sandbox,
        prewarm,
        // Not `preload`: that evaluates the tool ahead of its request, by definition.
        tools: { top: { path: 'tools/top-level.ts' } },
      });
      if (prewarm > 0) await expect.poll(() => created.stats.idleProcesses).toBe(1);
      const result = await created.executeToolWithTimeout({
        toolId: 'top',
        env: { TOP_LEVEL_VALUE: 'set by the request' },
      });
      const output = result.output as { value: unknown; symbols: string[]; entry: string };
      expect(output.value).toBe('set by the request');
      expect(output.symbols).not.toContain('Symbol(toolcage.embedded)');
      // Sandboxed, the bundle is shown at the tool's own path; unsandboxed it runs from the cache.
      if (sandbox === 'bwrap')
        expect(output.entry).toBe(fixture.project.path('tools/top-level.ts'));
      else expect(output.entry.startsWith(fixture.cacheDir)).toBe(true);
    },
  );

  test('a tool with a top-level await is built as ESM (no bytecode) and its top level still runs after its variables are set', async () => {
    fixture.project.write(
      'tools/awaits.ts',
      [
        "const value = await Promise.resolve(process.env['TOP_LEVEL_VALUE'] ?? null);",
        'export default () => ({ value });',
        '',
      ].join('\n'),
    );
    const result = await runtime().executeToolWithTimeout({
      toolPath: 'tools/awaits.ts',
      env: { TOP_LEVEL_VALUE: 'after the await' },
    });
    expect(result.output).toEqual({ value: 'after the await' });
    const files = listBundleFiles(join(fixture.cacheDir, 'v2/bundles')).map((file) => file.name);
    expect(files.filter((name) => name.endsWith('.js'))).toHaveLength(1);
    expect(files.filter((name) => name.endsWith('.jsc'))).toEqual([]);
  });

  test('a bundle imported by the plain worker entry: the copy of the worker it carries stands down, the tool still runs', async () => {
    const built = await runtime({ sandbox: 'none' }).executeToolWithTimeout({
      toolPath: 'tools/validate.ts',
      input: { city: 'Rome', days: 1 },
    });
    expect(built.output).toMatchObject({ city: 'ROME' });
    const [bundle] = listBundleFiles(join(fixture.cacheDir, 'v2/bundles'))
      .map((file) => file.name)
      .filter((name) => name.endsWith('.js'));
    const files = packageFiles();
    const child = spawn(
      resolveBunBinary(),
      ['--no-install', '--no-env-file', `--config=${files.bunfig}`, files.worker],
      { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: {} },
    );
    const request: WorkerRequest = {
      executionId: 'imported-bundle',
      toolId: 'validate',
      toolPath: join(fixture.cacheDir, 'v2/bundles', bundle!),
      exportName: 'default',
      env: {},
      input: { city: 'Oslo', days: 2 },
      config: {},
    };
    child.stdin.end(`${JSON.stringify(request)}\n`);
    let message = '';
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => (message += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    expect(JSON.parse(message)).toEqual({
      type: 'result',
      output: { city: 'OSLO', days: '2 days', range: '2025-06-01..2025-06-03' },
    });
  });

  test('a registered, prewarmed and preloaded tool runs its bundle', async () => {
    const created = runtime({
      prewarm: 1,
      tools: { validate: { path: 'tools/validate.ts', preload: true } },
    });
    await until(() => created.stats.idleProcesses >= 1, {
      timeoutMs: 30_000,
      intervalMs: 20,
      what: 'the prewarmed process',
    });
    expect(created.stats.idleProcesses).toBe(1);
    const result = await created.executeToolWithTimeout({
      toolId: 'validate',
      input: { city: 'Oslo', days: 1 },
    });
    expect(result.output).toMatchObject({ city: 'OSLO', days: '1 day' });
    expect(result.enforcement.filesystem).toBe('bundle');
  });

  test.each(['bwrap', 'none'] as const)(
    'sandbox %s: a macro, a project bunfig preload and a native addon are refused at build time, running nothing',
    async (sandbox) => {
      const marker = (name: string): string => fixture.project.path(`MARKER-${name}`);
      fixture.project.write(
        'tools/macro-lib.ts',
        `import { writeFileSync } from 'node:fs';\nexport function stamp() { writeFileSync(${JSON.stringify(marker('macro'))}, 'ran'); return 1; }\n`,
      );
      fixture.project.write(
        'tools/macro.ts',
        "import { stamp } from './macro-lib.ts' with { type: 'macro' };\nexport default () => stamp();\n",
      );
      fixture.project.write(
        'node_modules/fastnative/package.json',
        JSON.stringify({ name: 'fastnative', main: 'index.js' }),
      );
      fixture.project.write(
        'node_modules/fastnative/index.js',
        `require('node:fs').writeFileSync(${JSON.stringify(marker('native'))}, 'ran');\nmodule.exports = require('./build/Release/fastnative.node');\n`,
      );
      // A prebuilt addon shipped in the package (no install script): any bytes will do, it must
      // never be loaded.
      fixture.project.write(
        'node_modules/fastnative/build/Release/fastnative.node',
        '\x7fELF not really',
      );
      fixture.project.write(
        'tools/native.ts',
        "import addon from 'fastnative';\nexport default () => addon;\n",
      );
      const created = runtime({ sandbox });
      const macro = await rejectionOf(
        created.executeToolWithTimeout({ toolPath: 'tools/macro.ts' }),
      );
      expect(macro['kind']).toBe(ErrorKind.ToolError);
      expect(macro['message']).toMatch(
        /^Tool `macro` could not be built: tools\/macro\.ts:2:\d+ calls a macro \(an import `with \{ type: 'macro' \}`\); toolcage never runs code at build time$/,
      );
      const native = await rejectionOf(
        created.executeToolWithTimeout({ toolPath: 'tools/native.ts' }),
      );
      expect(native['kind']).toBe(ErrorKind.ToolError);
      expect(native['message']).toContain(
        'a native addon (node_modules/fastnative/build/Release/fastnative.node): a sandboxed tool cannot load native code',
      );
      fixture.project.write(
        'tools/preloaded.ts',
        `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker('preload'))}, 'ran');\n`,
      );
      fixture.project.write(
        'bunfig.toml',
        'preload = ["./tools/preloaded.ts"]\n[test]\npreload = ["x"]\n',
      );
      const preload = await rejectionOf(
        created.executeToolWithTimeout({
          toolPath: 'tools/validate.ts',
          input: { city: 'a', days: 1 },
        }),
      );
      expect(preload['kind']).toBe(ErrorKind.ToolError);
      expect(preload['message']).toBe(
        'Tool `validate` could not be built: bunfig.toml asks Bun to preload ["./tools/preloaded.ts"]; toolcage never runs a project\'s preload (import what the tool needs from the tool itself)',
      );
      for (const name of ['macro', 'native', 'preload'])
        expect(existsSync(marker(name)), name).toBe(false);
    },
  );

  test('an import that cannot be resolved and a syntax error name the file and the specifier', async () => {
    fixture.project.write(
      'tools/missing-dep.ts',
      "import x from 'no-such-package-4242';\nexport default () => x;\n",
    );
    fixture.project.write(
      'tools/missing-file.ts',
      "import x from './nowhere.ts';\nexport default () => x;\n",
    );
    fixture.project.write('tools/broken.ts', 'export default () => {\n  return 1 +;\n};\n');
    const created = runtime();
    const messages = await Promise.all(
      ['missing-dep', 'missing-file', 'broken'].map(async (name) => {
        const error = await rejectionOf(
          created.executeToolWithTimeout({ toolPath: `tools/${name}.ts` }),
        );
        expect(error['kind']).toBe(ErrorKind.ToolError);
        return error['message'];
      }),
    );
    expect(messages).toEqual([
      "Tool `missing-dep` could not be built: Cannot resolve 'no-such-package-4242' from tools/missing-dep.ts (is it installed?)",
      "Tool `missing-file` could not be built: Cannot resolve './nowhere.ts' from tools/missing-file.ts",
      expect.stringMatching(
        /^Tool `broken` could not be built: Syntax error in tools\/broken\.ts:2:\d+: Unexpected/,
      ),
    ]);
  });

  test('importing a secret-bearing file is refused: imports need no grant, so they may not reach secrets', async () => {
    fixture.project.write(
      'tools/leaky.ts',
      "import env from '../.env' with { type: 'text' };\nexport default () => env;\n",
    );
    const error = await rejectionOf(
      runtime().executeToolWithTimeout({ toolPath: 'tools/leaky.ts' }),
    );
    expect(error['kind']).toBe(ErrorKind.ToolError);
    expect(error['message']).toBe(
      "Tool `leaky` could not be built: tools/leaky.ts imports '../.env', a secret-bearing file (.env) that a tool may not see; read it at run time with a `read` grant instead",
    );
    expect(everything(error)).not.toContain(SECRETS.projectEnv);
  });

  test('a deadline that passes while the tool is being built is a timeout; the build goes on for the next call', async () => {
    const created = runtime();
    const error = await rejectionOf(
      created.executeToolWithTimeout({
        toolPath: 'tools/validate.ts',
        input: { city: 'a', days: 1 },
        timeoutMs: 1,
      }),
    );
    expect(error['kind']).toBe(ErrorKind.Timeout);
    expect(error['message']).toBe('Tool `validate` timed out after 1 ms while being built');
    const result = await created.executeToolWithTimeout({
      toolPath: 'tools/validate.ts',
      input: { city: 'a', days: 1 },
    });
    expect(result.output).toMatchObject({ city: 'A' });
  });
});
