/**
 * The build cache with real builds (Bun, bubblewrap): what rebuilds and what does not, two
 * runtimes building at once, torn and tampered entries, and the size bound.
 */
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createBundler } from '../../src/runtime/bundler-host.js';
import { BuildCache, type BundleFiles } from '../../src/bundling/cache.js';
import { listBundleFiles } from '../../src/bundling/cache-evict.js';
import { isManifest } from '../../src/bundling/manifest.js';
import type { ToolBundler } from '../../src/bundling/bundler.js';
import { ErrorKind } from '../../src/errors/kinds.js';
import { bunVersion, resolveBunBinary } from '../../src/runtime/bun-binary.js';
import { normalizeOptions } from '../../src/runtime/runtime-options.js';
import { packageFiles } from '../../src/runtime/package-files.js';
import { resolveTool } from '../../src/runtime/resolve-tool.js';
import { createToolRuntime } from '../../src/runtime/runtime.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { useBuildFixture } from '../helpers/build-fixture.js';
import { rejectionOf } from '../helpers/runtime.js';
import { sandboxAvailability } from '../sandbox/harness.js';

const available = await sandboxAvailability();
const BUN = resolveBunBinary();

const bundlers: ToolBundler[] = [];
// Before each test a fresh project and cache; after it, nothing of any build may be left.
const fixture = useBuildFixture(() =>
  Promise.all(bundlers.splice(0).map((bundler) => bundler.close())),
);

/** A bundler as a runtime makes it ("a runtime"), over the test's project and cache. */
function runtimeBundler(cacheMaxBytes?: number, maskPatterns?: string[]) {
  const options = normalizeOptions({
    rootDir: fixture.project.root,
    cacheDir: fixture.cacheDir,
    sandbox: 'bwrap',
    ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }),
    ...(maskPatterns === undefined ? {} : { maskPatterns }),
  });
  const bundler = createBundler(options, {
    sandbox: createSandbox(),
    bunPath: BUN,
    bunVersion: () => bunVersion(BUN),
    files: packageFiles(),
  });
  bundlers.push(bundler);
  return {
    build: (path: string) =>
      bundler.build(resolveTool({ toolPath: path }, options), {
        signal: new AbortController().signal,
        timeoutMs: 120_000,
      }),
  };
}

function run(input: unknown) {
  const runtime = createToolRuntime({
    rootDir: fixture.project.root,
    cacheDir: fixture.cacheDir,
    sandbox: 'bwrap',
    telemetry: false,
  });
  return runtime
    .executeToolWithTimeout({ toolPath: 'tools/validate.ts', input })
    .finally(() => runtime.close());
}

const cacheFiles = (sub: 'entries' | 'bundles' | 'tmp'): string[] => {
  const dir = join(fixture.cacheDir, 'v2', sub);
  if (sub === 'bundles')
    return listBundleFiles(dir)
      .map((file) => file.name)
      .sort();
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};

// Commits a one-file bundle of `source` (no bytecode, no map) as the entry `key`.
function commitSource(cache: BuildCache, key: string, source: string): BundleFiles {
  const staging = cache.staging();
  const file = join(staging, 'tool.js');
  writeFileSync(file, source);
  const bundle = cache.commit(key, file, { bytecode: false, sourcemap: false }, undefined);
  cache.discard(staging);
  return bundle;
}

describe.skipIf(!available.ok)('the build cache', () => {
  test('an unchanged graph is not built again; a change to any input is', async () => {
    const first = runtimeBundler();
    const built = await first.build('tools/validate.ts');
    expect(built.cached).toBe(false);
    // Every module of the graph and the files that steered its resolution are inputs.
    const inputs = built.manifest.inputs.map((input) =>
      input.path.slice(fixture.project.root.length + 1),
    );
    expect(inputs).toEqual(
      expect.arrayContaining([
        'tools/validate.ts',
        'tools/helpers/range.ts',
        'tools/defaults.json',
        'node_modules/zodlet/index.js',
        'node_modules/datelet/dist/index.js',
        'node_modules/datelet/dist/format.js',
        'node_modules/datelet/package.json',
        'packages/units/index.ts',
        'src/lib/format.ts',
        'tsconfig.json',
        'package.json',
      ]),
    );
    expect((await first.build('tools/validate.ts')).cached).toBe(true);
    // Another runtime finds it in the cache.
    expect((await runtimeBundler().build('tools/validate.ts')).cached).toBe(true);
    // A touch changes the stat, not the content.
    const later = new Date(Date.now() + 10_000);
    utimesSync(fixture.project.path('tools/validate.ts'), later, later);
    expect((await first.build('tools/validate.ts')).cached).toBe(true);

    const edits: Array<[string, (text: string) => string]> = [
      ['tools/validate.ts', (text) => `${text}\n// edited\n`],
      ['tools/helpers/range.ts', () => 'export const MAX_DAYS = 2;\n'],
      ['node_modules/zodlet/index.js', (text) => `${text}\n// patched\n`],
      ['packages/units/index.ts', () => "export const unit = (): string => 'd';\n"],
      [
        'node_modules/datelet/package.json',
        (text) => text.replace('"./dist/format.js"', '"./dist/format.js" '),
      ],
    ];
    for (const [path, edit] of edits) {
      writeFileSync(
        fixture.project.path(path),
        edit(readFileSync(fixture.project.path(path), 'utf8')),
      );
      const again = await first.build('tools/validate.ts');
      expect(again.cached, path).toBe(false);
      expect((await first.build('tools/validate.ts')).cached, path).toBe(true);
    }
    // The rebuilt bundle is what runs: the edited range and unit are in force.
    const error = await rejectionOf(run({ city: 'Lyon', days: 3 }));
    expect(error['message']).toContain('at most 2 days');
    expect((await run({ city: 'Lyon', days: 2 })).output).toMatchObject({ days: '2 d' });
    expect(cacheFiles('entries')).toHaveLength(1);
  });

  test('two runtimes building the same tool at once leave one valid entry', async () => {
    const [a, b] = await Promise.all([
      runtimeBundler().build('tools/validate.ts'),
      runtimeBundler().build('tools/validate.ts'),
    ]);
    expect([a.cached, b.cached]).toEqual([false, false]);
    expect(a.bundlePath).toBe(b.bundlePath);
    const entries = cacheFiles('entries');
    expect(entries).toHaveLength(1);
    // One bundle, its bytecode and its source map.
    expect(cacheFiles('bundles')).toEqual([
      a.manifest.bundle.file,
      `${a.manifest.bundle.file}.jsc`,
      `${a.manifest.bundle.file}.map`,
    ]);
    const cache = new BuildCache(fixture.cacheDir);
    const stored = cache.read(entries[0]!.replace(/\.json$/, ''))!;
    expect(cache.verify(stored)).toBe(true);
    expect((await runtimeBundler().build('tools/validate.ts')).cached).toBe(true);
  });

  test('bundles lie two levels down, so that no directory above one holds more than 16 of the cache', () => {
    // Bun reads every entry of each directory above the file it runs, at every start.
    const cache = new BuildCache(fixture.cacheDir);
    const paths: string[] = [];
    for (let n = 0; n < 48; n++) {
      const bundle = commitSource(cache, `k${n}`, `module.exports = { default: () => ${n} };\n`);
      const name = basename(bundle.file, '.js');
      expect(bundle.file).toBe(`${name[0]}/${name[1]}/${name}.js`);
      paths.push(join(fixture.cacheDir, 'v2', 'bundles', bundle.file));
    }
    const bundles = join(fixture.cacheDir, 'v2', 'bundles');
    expect(readdirSync(bundles).length).toBeLessThanOrEqual(16);
    for (const first of readdirSync(bundles)) {
      expect(readdirSync(join(bundles, first)).length).toBeLessThanOrEqual(16);
    }
    for (const path of paths) expect(existsSync(path)).toBe(true);
    expect(cacheFiles('bundles')).toHaveLength(48);
    // A manifest that names a bundle outside that layout (v1's flat names, a path) is not one.
    const manifest = (file: string): unknown => ({
      version: 1,
      entry: '/p/tool.ts',
      bunVersion: '1',
      options: '',
      inputs: [],
      assets: [],
      modules: 1,
      buildMs: 1,
      builtAt: '',
      bundle: { file, sha256: 'x', bytes: 1 },
    });
    const name = 'ab'.padEnd(64, '0');
    expect(isManifest(manifest(`a/b/${name}.js`))).toBe(true);
    expect(isManifest(manifest(`${name}.js`))).toBe(false);
    expect(isManifest(manifest(`b/a/${name}.js`))).toBe(false);
    expect(isManifest(manifest(`../../${name}.js`))).toBe(false);
  });

  test("the directories it makes are 0711 whatever the umask: the sandbox's user passes through them", () => {
    const before = process.umask(0o077);
    try {
      const cache = new BuildCache(join(fixture.cacheDir, 'made', 'here'));
      const bundle = commitSource(cache, 'k', 'module.exports = { default: () => 1 };\n');
      const v2 = join(fixture.cacheDir, 'made', 'here', 'v2');
      const [first, second] = bundle.file.split('/');
      const made = [
        join(fixture.cacheDir, 'made'),
        join(fixture.cacheDir, 'made', 'here'),
        v2,
        join(v2, 'entries'),
        join(v2, 'tmp'),
        join(v2, 'bundles'),
        join(v2, 'bundles', first!),
        join(v2, 'bundles', first!, second!),
      ];
      expect(made.map((dir) => (statSync(dir).mode & 0o777).toString(8))).toEqual(
        made.map(() => '711'),
      );
    } finally {
      process.umask(before);
    }
  });

  test('a bundle built again with the same content stays the same file: processes that bound it keep it', () => {
    const cache = new BuildCache(fixture.cacheDir);
    const commit = (): string => {
      const bundle = commitSource(cache, 'k', 'module.exports = { default: () => 1 };\n');
      return join(fixture.cacheDir, 'v2', 'bundles', bundle.file);
    };
    const first = commit();
    const inode = statSync(first).ino;
    expect(commit()).toBe(first);
    expect(statSync(first).ino).toBe(inode);
    // One whose content is not its name's (tampered) is replaced.
    chmodSync(first, 0o644);
    writeFileSync(first, 'tampered');
    commit();
    expect(readFileSync(first, 'utf8')).toBe('module.exports = { default: () => 1 };\n');
    expect(statSync(first).ino).not.toBe(inode);
  });

  test.each(['bundle', 'bytecode'] as const)(
    'a tampered %s is rebuilt, never executed — by a new runtime and by the one that verified it',
    async (part) => {
      const marker = fixture.project.path('MARKER-tampered');
      const built = await runtimeBundler().build('tools/validate.ts');
      const file = part === 'bundle' ? built.bundlePath : `${built.bundlePath}.jsc`;
      const tamper = (): void => {
        chmodSync(file, 0o644);
        writeFileSync(
          file,
          part === 'bundle'
            ? `// @bun\nrequire('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\nmodule.exports = { default: () => 'tampered' };\n`
            : 'not bytecode',
        );
      };
      tamper();
      const fresh = runtimeBundler();
      expect((await fresh.build('tools/validate.ts')).cached).toBe(false);
      expect((await run({ city: 'Lyon', days: 1 })).output).toMatchObject({ city: 'LYON' });
      // The same runtime again: the stat changed since it verified the files.
      tamper();
      expect((await fresh.build('tools/validate.ts')).cached).toBe(false);
      expect(existsSync(marker)).toBe(false);
    },
  );

  test('an entry built under fewer secret-bearing names is not used by a runtime with more', async () => {
    fixture.project.write('tools/data.secret', 'SECRET-BY-PATTERN-4242');
    fixture.project.write(
      'tools/embeds.ts',
      "import text from './data.secret' with { type: 'text' };\nexport default () => text;\n",
    );
    expect((await runtimeBundler().build('tools/embeds.ts')).cached).toBe(false);
    const strict = runtimeBundler(undefined, ['*.secret']);
    const error = await rejectionOf(strict.build('tools/embeds.ts'));
    expect(error['kind']).toBe(ErrorKind.ToolError);
    expect(error['message']).toBe(
      "Tool `embeds` could not be built: tools/embeds.ts imports './data.secret', a secret-bearing file (data.secret) that a tool may not see; read it at run time with a `read` grant instead",
    );
  });

  test('a torn manifest is rebuilt', async () => {
    await runtimeBundler().build('tools/validate.ts');
    const [entry] = cacheFiles('entries');
    writeFileSync(join(fixture.cacheDir, 'v2/entries', entry!), '{"version":1,"entry":');
    expect((await runtimeBundler().build('tools/validate.ts')).cached).toBe(false);
    expect(new BuildCache(fixture.cacheDir).read(entry!.replace(/\.json$/, ''))).toBeDefined();
  });

  test('the size bound evicts the least recently used entries, never the one just written', async () => {
    const roomy = runtimeBundler();
    const validate = await roomy.build('tools/validate.ts');
    const other = await roomy.build('tools/other.ts');
    expect(cacheFiles('entries')).toHaveLength(2);
    // One byte: every entry but the one being written goes.
    const tight = runtimeBundler(1);
    fixture.project.write('tools/reader.ts', "export default () => 'reader';\n");
    const reader = await tight.build('tools/reader.ts');
    expect(cacheFiles('entries')).toHaveLength(1);
    expect(cacheFiles('bundles')).toEqual(
      [
        reader.manifest.bundle.file,
        `${reader.manifest.bundle.file}.jsc`,
        `${reader.manifest.bundle.file}.map`,
      ].sort(),
    );
    expect(existsSync(validate.bundlePath)).toBe(false);
    expect(existsSync(other.bundlePath)).toBe(false);
    // What was evicted is built again when it is needed.
    expect((await tight.build('tools/validate.ts')).cached).toBe(false);
    expect(cacheFiles('entries')).toHaveLength(1);
  });

  test('a failed build leaves nothing: no entry, no bundle, no staging directory', async () => {
    fixture.project.write('tools/broken.ts', 'export default ( => 1;\n');
    const error = await rejectionOf(runtimeBundler().build('tools/broken.ts'));
    expect(error['kind']).toBe(ErrorKind.ToolError);
    expect(cacheFiles('entries')).toEqual([]);
    expect(cacheFiles('bundles')).toEqual([]);
  });
});
