/**
 * The pure and filesystem-only parts of the build: secret-name patterns, the masks of a
 * directory, the project a tool belongs to, the freshness check, and the messages of a build
 * that cannot be used.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { describeProblems, refusedGraph } from '../../src/bundling/compile-errors.js';
import { buildOptions } from '../../src/bundling/compile-tool.js';
import { evictCache, listBundleFiles } from '../../src/bundling/cache-evict.js';
import { checkInputs, recordInput } from '../../src/bundling/freshness.js';
import { outsideAssets, refusedAsset } from '../../src/bundling/assets.js';
import { callMasks } from '../../src/bundling/call-masks.js';
import { DirectoryMasks, MaskScanError, scanDirectory } from '../../src/bundling/mask.js';
import {
  compileMaskPatterns,
  secretComponent,
  validateMaskPatterns,
} from '../../src/bundling/secret-patterns.js';
import { buildView } from '../../src/bundling/project.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';
import { defaultCacheDir } from '../../src/bundling/cache.js';
import { createBundler } from '../../src/runtime/bundler-host.js';
import { ErrorKind } from '../../src/errors/kinds.js';
import { normalizeOptions, type ToolRuntimeOptions } from '../../src/runtime/runtime-options.js';
import { packageFiles } from '../../src/runtime/package-files.js';
import { resolveTool } from '../../src/runtime/resolve-tool.js';
import { SandboxRefusal } from '../../src/sandbox/refusal.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { rejectionOf } from '../helpers/runtime.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tc-build-units-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(relative: string, text = 'x'): string {
  const path = join(dir, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('secret-bearing names', () => {
  const matcher = compileMaskPatterns(['*.secret', 'credentials?.json']);
  test.each([
    ['.env', true],
    ['.env.local', true],
    ['.envrc', true],
    ['.git', true],
    ['.npmrc', true],
    ['.git-credentials', true],
    ['.netrc', true],
    ['.ssh', true],
    ['.aws', true],
    ['.gnupg', true],
    ['.kube', true],
    ['.docker', true],
    ['.pypirc', true],
    ['id_ed25519', true],
    ['id_rsa.pub', true],
    ['cert.p12', true],
    ['server.pem', true],
    ['id.key', true],
    ['db.secret', true],
    ['credentials1.json', true],
    ['env', false],
    ['my.env', false],
    ['.gitignore', false],
    ['key.ts', false],
    ['keys', false],
    ['credentials.json', false],
    ['pem', false],
    ['gcloud', false],
    ['.config', false],
    ['identity.ts', false],
  ])('%s → %s', (name, masked) => {
    expect(matcher.matches(name, '/home/u')).toBe(masked);
  });

  test('a pattern `a/b` matches the name b in a directory named a, and only there', () => {
    expect(matcher.matches('gcloud', '/home/u/.config')).toBe(true);
    expect(matcher.matches('gcloud', '/home/u/src')).toBe(false);
    expect(matcher.matches('gcloud')).toBe(false);
    const deeper = compileMaskPatterns(['vault/*/token']);
    expect(deeper.matches('token', '/srv/vault/prod')).toBe(true);
    expect(deeper.matches('token', '/srv/other/prod')).toBe(false);
    const plain = compileMaskPatterns();
    expect(secretComponent('/home/u/.config/gcloud/creds.json', '/home/u', plain)).toBe('gcloud');
    // Its parent may lie above the root.
    expect(secretComponent('/home/u/.config/gcloud/x.json', '/home/u/.config', plain)).toBe(
      'gcloud',
    );
    expect(secretComponent('/p/tools/.ssh/config', '/p', plain)).toBe('.ssh');
    expect(secretComponent('/p/src/gcloud/a.ts', '/p', plain)).toBeUndefined();
  });

  test('a secret component anywhere below the root, or anywhere in a path outside it', () => {
    const plain = compileMaskPatterns();
    expect(secretComponent('/p/tools/.env', '/p', plain)).toBe('.env');
    expect(secretComponent('/p/.git/config', '/p', plain)).toBe('.git');
    expect(secretComponent('/p/tools/validate.ts', '/p', plain)).toBeUndefined();
    // The root's own path does not count: a project may live in ~/.env-work/.
    expect(
      secretComponent('/home/u/.env-work/p/tools/a.ts', '/home/u/.env-work/p', plain),
    ).toBeUndefined();
    expect(secretComponent('/elsewhere/.git/x.js', '/p', plain)).toBe('.git');
  });

  test.each([
    [
      ['a//b'],
      'Expected `maskPatterns[0]` to be a file name pattern (like `*.secret`), or names joined by `/` (like `.config/gcloud`), got `a//b` (string)',
    ],
    [['/etc'], 'got `/etc` (string)'],
    [['a/../b'], 'got `a/../b` (string)'],
    [[''], 'Expected `maskPatterns[0]` to be a file name pattern'],
    [[3], 'got `3` (number)'],
    [
      '*.secret',
      'Expected `maskPatterns` to be an array of name patterns, got `*.secret` (string)',
    ],
  ])('maskPatterns %j is a TypeError', (value, message) => {
    expect(() => validateMaskPatterns(value, 'maskPatterns')).toThrow(TypeError);
    expect(() => validateMaskPatterns(value, 'maskPatterns')).toThrow(message);
  });
});

describe('the masks of a directory (bundle: false, or granted)', () => {
  const matcher = compileMaskPatterns();
  const bounds = (maxEntries: number, maxDepth = 32) => ({ maxEntries, maxDepth });

  test('finds secret files and directories at any depth, not inside node_modules or masked dirs', () => {
    write('tool.ts');
    write('.env');
    write('sub/deeper/.env.local');
    write('sub/cert.pem');
    write('.git/config');
    write('.git/.env'); // inside a masked directory: hidden with it
    write('node_modules/pkg/.env'); // a package's, not the project's
    write('notes.txt');
    const scan = scanDirectory(dir, matcher, bounds(1000));
    expect(
      scan.masked.map((entry) => [entry.path.slice(dir.length + 1), entry.type]).sort(),
    ).toEqual([
      ['.env', 'file'],
      ['.git', 'directory'],
      ['sub/cert.pem', 'file'],
      ['sub/deeper/.env.local', 'file'],
    ]);
  });

  test('a link named like a secret is masked where it leads inside; one leading outside is left (it dangles inside)', () => {
    write('config/prod.txt', 'secret');
    symlinkSync('config/prod.txt', join(dir, '.env'));
    symlinkSync('/etc/hostname', join(dir, '.npmrc'));
    const scan = scanDirectory(dir, matcher, bounds(1000));
    expect(scan.masked).toEqual([{ path: join(dir, 'config/prod.txt'), type: 'file' }]);
    // Scanned through a link to it, the masks are where the sandbox shows them: under the link.
    symlinkSync(dir, `${dir}-link`);
    try {
      expect(scanDirectory(`${dir}-link`, matcher, bounds(1000)).masked).toEqual([
        { path: join(`${dir}-link`, 'config/prod.txt'), type: 'file' },
      ]);
    } finally {
      rmSync(`${dir}-link`);
    }
  });

  test('a tree larger than the bound is refused, not half-checked', () => {
    for (let i = 0; i < 30; i++) write(`many/f${i}.ts`);
    expect(() => scanDirectory(dir, matcher, bounds(20))).toThrow(MaskScanError);
    expect(() => scanDirectory(dir, matcher, bounds(20))).toThrow(
      'more than 20 entries outside node_modules',
    );
  });

  test('a tree deeper than the bound is refused, not half-checked: a secret below it would leak', () => {
    write('a/b/c/.env');
    expect(scanDirectory(dir, matcher, bounds(1000, 3)).masked).toEqual([
      { path: join(dir, 'a/b/c/.env'), type: 'file' },
    ]);
    write('a/b/c/d/notes.txt');
    expect(() => scanDirectory(dir, matcher, bounds(1000, 3))).toThrow(
      `${dir} is more than 3 directories deep (${join(dir, 'a/b/c/d')})`,
    );
  });

  test('a secret created after the first scan is masked at the next call', () => {
    write('tool.ts');
    write('sub/a.ts');
    const masks = new DirectoryMasks(matcher);
    expect(masks.masks(dir)).toEqual([]);
    expect(masks.masks(dir)).toEqual([]);
    write('sub/.env');
    expect(masks.masks(dir)).toEqual([{ path: join(dir, 'sub/.env'), type: 'file' }]);
  });

  test('the kept scans are bounded', () => {
    const masks = new DirectoryMasks(matcher);
    for (let i = 0; i < 300; i++) mkdirSync(join(dir, `d${i}`));
    for (let i = 0; i < 300; i++) expect(masks.masks(join(dir, `d${i}`))).toEqual([]);
    write('d0/.env');
    expect(masks.masks(join(dir, 'd0'))).toEqual([{ path: join(dir, 'd0/.env'), type: 'file' }]);
  });
});

describe('the masks of a call (every directory shown)', () => {
  const masks = () => new DirectoryMasks(compileMaskPatterns());
  const rel = (entries: readonly { path: string; type: string }[]) =>
    entries.map((entry) => `${entry.path.slice(dir.length + 1)} ${entry.type}`);

  test('every granted directory, read or write, at every scanned depth; not a granted file', () => {
    write('data/data.txt');
    write('data/.env');
    write('data/.ssh/id_ed25519');
    write('data/sub/.aws/credentials');
    write('out/deep/er/server.key');
    write('file-grant.txt');
    const permissions = resolvePermissions({
      read: [join(dir, 'data'), join(dir, 'file-grant.txt'), join(dir, 'missing')],
      write: [join(dir, 'out')],
    });
    expect(rel(callMasks(masks(), { shown: [] }, permissions))).toEqual([
      'data/.env file',
      'data/.ssh directory',
      'data/sub/.aws directory',
      'out/deep/er/server.key file',
    ]);
  });

  test('a secret is visible only through a grant of its own path', () => {
    write('data/.env');
    write('data/.ssh/id_ed25519');
    write('data/.ssh/known_hosts');
    write('data/.ssh/keys/id_rsa');
    write('data/.git/config');
    const data = join(dir, 'data');
    // The grant of the key: `.ssh` cannot be covered whole (the key is bound inside it), so its
    // other entries are masked one by one.
    const key = join(data, '.ssh/id_ed25519');
    expect(
      rel(callMasks(masks(), { shown: [] }, resolvePermissions({ read: [data, key] }))),
    ).toEqual([
      'data/.env file',
      'data/.git directory',
      'data/.ssh/keys directory',
      'data/.ssh/known_hosts file',
    ]);
    // A directory inside a granted one does not unmask its parent's secrets, nor its own.
    write('data/sub/.env');
    expect(
      rel(
        callMasks(masks(), { shown: [] }, resolvePermissions({ read: [data, join(data, 'sub')] })),
      ),
    ).toEqual([
      'data/.env file',
      'data/.git directory',
      'data/.ssh directory',
      'data/sub/.env file',
    ]);
    // The tool's own files and the runtime's, when a masked directory holds them, stay shown.
    expect(
      rel(
        callMasks(
          masks(),
          { shown: [join(data, '.git/config')] },
          resolvePermissions({ read: [data] }),
        ),
      ),
    ).toEqual(['data/.env file', 'data/.ssh directory', 'data/sub/.env file']);
  });

  test("the tool's directory (bundle: false) and a grant above it: masked once, under the grant too", () => {
    write('p/tools/tool.ts');
    write('p/tools/.env');
    write('p/.git/config');
    const toolDir = join(dir, 'p/tools');
    expect(rel(callMasks(masks(), { toolDir, shown: [] }, resolvePermissions({})))).toEqual([
      'p/tools/.env file',
    ]);
    expect(
      rel(
        callMasks(masks(), { toolDir, shown: [] }, resolvePermissions({ read: [join(dir, 'p')] })),
      ),
    ).toEqual(['p/.git directory', 'p/tools/.env file']);
  });

  test('node_modules and pseudo-filesystems are not scanned; a grant too large is refused', () => {
    write('node_modules/pkg/.env');
    const bounded = new DirectoryMasks(compileMaskPatterns(), { maxEntries: 10, maxDepth: 32 });
    const grant = (path: string) => resolvePermissions({ read: [path] });
    expect(callMasks(bounded, { shown: [] }, grant(join(dir, 'node_modules')))).toEqual([]);
    expect(callMasks(bounded, { shown: [] }, grant('/proc'))).toEqual([]);
    for (let i = 0; i < 20; i++) write(`big/f${i}`);
    expect(() => callMasks(bounded, { shown: [] }, grant(join(dir, 'big')))).toThrow(MaskScanError);
  });
});

describe('data imports from outside the tool’s package', () => {
  test('outside the importer’s package, unless granted; code and a package’s own data are fine', () => {
    write('repo/package.json', '{}');
    write('repo/tools/package.json', '{}');
    write('repo/node_modules/db/package.json', '{}');
    const at = (relative: string) => join(dir, relative);
    const edge = (from: string, path: string, loader?: string) => ({
      from: at(from),
      path: at(path),
      original: path,
      ...(loader === undefined ? {} : { loader }),
    });
    const imports = [
      edge('repo/tools/t.ts', 'repo/tools/data/cities.json'),
      edge('repo/tools/t.ts', 'repo/lib/util.ts'),
      edge('repo/tools/t.ts', 'repo/node_modules/db/index.js'),
      edge('repo/node_modules/db/index.js', 'repo/node_modules/db/table.json'),
      edge('repo/tools/t.ts', 'repo/config.json'),
      edge('repo/tools/t.ts', 'repo/lib/other.ts', 'text'),
      edge('repo/tools/t.ts', 'repo/notes.txt', 'text'),
      edge('repo/node_modules/db/index.js', 'repo/seeds.toml', 'toml'),
    ];
    const tool = at('repo/tools/t.ts');
    // An external import is not inlined: no data of the bundle.
    imports.push({ from: tool, path: '/tmp/fs', original: 'node:fs' });
    const inputs = imports.filter((e) => e.original !== 'node:fs').map((e) => e.path);
    const assets = outsideAssets({ inputs, imports }, tool);
    expect(assets.map((asset) => asset.path)).toEqual(
      ['repo/config.json', 'repo/lib/other.ts', 'repo/notes.txt', 'repo/seeds.toml'].map(at),
    );
    const root = at('repo');
    expect(refusedAsset(assets, resolvePermissions({}), tool, root)).toBe(
      `tools/t.ts imports 'repo/config.json', a data file outside the tool's package (tools) that it may not read; grant it with \`read\` (permissions.read: ['${at('repo/config.json')}'])`,
    );
    expect(
      refusedAsset(
        assets,
        resolvePermissions({ read: [at('repo/config.json'), at('repo/lib')] }),
        tool,
        root,
      ),
    ).toContain("tools/t.ts imports 'repo/notes.txt'");
    expect(refusedAsset(assets, resolvePermissions({ read: [root] }), tool, root)).toBeUndefined();
    // From a cached entry, the paths alone.
    expect(refusedAsset([at('repo/notes.txt')], resolvePermissions({}), tool, root)).toContain(
      'it inlines notes.txt, a data file outside',
    );
  });
});

describe('the project of a tool', () => {
  test('the workspace root, node_modules above it, and where its links lead', () => {
    write('repo/package.json', JSON.stringify({ workspaces: ['packages/*'] }));
    write('repo/packages/app/package.json', '{}');
    write('repo/packages/app/tools/t.ts');
    write('node_modules/hoisted/index.js');
    write('linked/index.js');
    mkdirSync(join(dir, 'repo/node_modules/@s'), { recursive: true });
    symlinkSync(join(dir, 'linked'), join(dir, 'repo/node_modules/@s/linked'));
    symlinkSync('../packages/app', join(dir, 'repo/node_modules/app'));
    const view = buildView(join(dir, 'repo/packages/app/tools/t.ts'));
    expect(view.root).toBe(join(dir, 'repo'));
    expect(view.read).toEqual([join(dir, 'repo'), join(dir, 'node_modules'), join(dir, 'linked')]);
    expect(view.configDirs).toEqual([
      join(dir, 'repo/packages/app/tools'),
      join(dir, 'repo/packages/app'),
      join(dir, 'repo/packages'),
      join(dir, 'repo'),
    ]);
  });

  test('without a workspace: the nearest package.json; without one: the tool’s directory', () => {
    write('p/package.json', '{}');
    write('p/tools/t.ts');
    write('loose/t.ts');
    expect(buildView(join(dir, 'p/tools/t.ts')).root).toBe(join(dir, 'p'));
    expect(buildView(join(dir, 'loose/t.ts')).root).toBe(join(dir, 'loose'));
  });
});

describe('freshness', () => {
  test('a stat change without a content change is fresh; a content change is stale', () => {
    const file = write('a.ts', 'one');
    const record = recordInput(file)!;
    expect(checkInputs([record])).toEqual({ fresh: true, records: [record] });
    const later = new Date(Date.now() + 5_000);
    utimesSync(file, later, later);
    const touched = checkInputs([record]);
    expect(touched.fresh).toBe(true);
    expect(touched.fresh && touched.records[0]!.mtimeMs).not.toBe(record.mtimeMs);
    // Same size, the old mtime put back: the ctime still tells (npm writes fixed mtimes).
    writeFileSync(file, 'two');
    utimesSync(file, new Date(record.mtimeMs), new Date(record.mtimeMs));
    expect(checkInputs([record]).fresh).toBe(false);
    rmSync(file);
    expect(checkInputs([record]).fresh).toBe(false);
  });
});

describe('the cache key of the worker a bundle carries', () => {
  test('another worker, by content or by place, is another key; the same is the same', () => {
    const worker = write('a/run.js', 'export function startWorker() {}\n');
    const same = write('b/run.js', 'export function startWorker() {}\n');
    const first = buildOptions(worker);
    expect(buildOptions(worker)).toBe(first);
    // The bundle loads the worker's slow paths from beside it: another place is another bundle.
    expect(buildOptions(same)).not.toBe(first);
    writeFileSync(worker, 'export function startWorker() { /* changed */ }\n');
    expect(buildOptions(worker)).not.toBe(first);
  });
});

describe('the size bound of the cache', () => {
  test('least recently used first; a bundle two entries share stays until neither names it', () => {
    const dirs = {
      entries: join(dir, 'entries'),
      bundles: join(dir, 'bundles'),
      tmp: join(dir, 'tmp'),
    };
    const entry = (name: string, bundle: string, ageMs: number): void => {
      const path = write(`entries/${name}.json`, bundle);
      const when = new Date(Date.now() - ageMs);
      utimesSync(path, when, when);
    };
    write('bundles/a/b/shared.js', 'x'.repeat(100));
    write('bundles/a/b/shared.js.jsc', 'x'.repeat(100));
    write('bundles/c/d/own.js', 'x'.repeat(100));
    write('bundles/c/d/own.js.map', 'x');
    entry('oldest', 'a/b/shared.js', 3_000);
    entry('older', 'c/d/own.js', 2_000);
    entry('newest', 'a/b/shared.js', 1_000);
    const bundleOf = (manifest: string): string =>
      readFileSync(join(dirs.entries, manifest), 'utf8');
    // Room for one entry and one bundle with its bytecode: the two oldest entries go; the bundle
    // the newest still names stays, the other goes with its only entry.
    evictCache(dirs, 250, undefined, bundleOf);
    expect(readdirSync(dirs.entries)).toEqual(['newest.json']);
    expect(listBundleFiles(dirs.bundles).map((file) => file.name)).toEqual([
      'a/b/shared.js',
      'a/b/shared.js.jsc',
    ]);
  });
});

describe('messages of a build that cannot be used', () => {
  const root = '/p';
  test.each([
    [
      {
        kind: 'resolve',
        message: 'Could not resolve: "zod"',
        file: '/p/tools/validate.ts',
        line: 1,
        column: 15,
        specifier: 'zod',
      },
      "Cannot resolve 'zod' from tools/validate.ts (is it installed?)",
    ],
    [
      { kind: 'resolve', message: 'x', file: '/p/tools/validate.ts', specifier: './helpers' },
      "Cannot resolve './helpers' from tools/validate.ts",
    ],
    [
      { kind: 'syntax', message: 'Unexpected ;', file: '/p/tools/syn.ts', line: 3, column: 9 },
      'Syntax error in tools/syn.ts:3:9: Unexpected ;',
    ],
    [
      { kind: 'macro', message: 'Macros are disabled', file: '/p/tools/m.ts', line: 1, column: 5 },
      "tools/m.ts:1:5 calls a macro (an import `with { type: 'macro' }`); toolcage never runs code at build time",
    ],
  ] as const)('%j', (problem, message) => {
    expect(describeProblems([problem], root)).toBe(message);
  });

  test('more than three problems are counted, not listed', () => {
    const problem = { kind: 'other', message: 'bad' } as const;
    expect(describeProblems([problem, problem, problem, problem, problem], root)).toBe(
      'bad; bad; bad; and 2 more',
    );
  });

  test('a graph with a secret, a native addon or a file beside the bundle is refused', () => {
    const matcher = compileMaskPatterns();
    const base = { ok: true as const, imports: [], format: 'cjs' as const };
    const entry = { name: 'tool.js', kind: 'entry-point' };
    expect(
      refusedGraph(
        {
          ...base,
          inputs: ['/p/tools/a.ts', '/p/.env'],
          imports: [{ from: '/p/tools/a.ts', path: '/p/.env', original: '../.env' }],
          outputs: [entry],
        },
        matcher,
        root,
      ),
    ).toBe(
      "tools/a.ts imports '../.env', a secret-bearing file (.env) that a tool may not see; read it at run time with a `read` grant instead",
    );
    expect(
      refusedGraph(
        { ...base, inputs: ['/p/tools/a.ts', '/p/node_modules/n/n.node'], outputs: [entry] },
        matcher,
        root,
      ),
    ).toContain('a native addon (node_modules/n/n.node): a sandboxed tool cannot load native code');
    expect(
      refusedGraph(
        {
          ...base,
          inputs: ['/p/tools/a.ts'],
          outputs: [entry, { name: 'logo-1.png', kind: 'asset' }],
        },
        matcher,
        root,
      ),
    ).toContain('cannot be inlined (Bun emits it beside the bundle as logo-1.png)');
    expect(
      refusedGraph(
        {
          ...base,
          inputs: ['/p/tools/a.ts'],
          outputs: [
            entry,
            { name: 'tool.js.jsc', kind: 'bytecode' },
            { name: 'tool.js.map', kind: 'sourcemap' },
          ],
        },
        matcher,
        root,
      ),
    ).toBeUndefined();
  });
});

describe('options of the build', () => {
  test.each([
    [{ cacheMaxBytes: 0 }, 'Expected `cacheMaxBytes` to be a positive integer, got `0` (number)'],
    [{ cacheDir: 3 }, 'Expected `cacheDir` to be a string, got `3` (number)'],
    [{ maskPatterns: ['a//b'] }, 'Expected `maskPatterns[0]` to be a file name pattern'],
    [
      { tools: { t: { path: 't.ts', bundle: 'no' } } },
      'Expected `tools.t.bundle` to be a boolean, got `no` (string)',
    ],
  ])('%j is a TypeError', (options, message) => {
    expect(() => normalizeOptions(options as ToolRuntimeOptions)).toThrow(TypeError);
    expect(() => normalizeOptions(options as ToolRuntimeOptions)).toThrow(message);
  });

  test('the cache goes to $XDG_CACHE_HOME/toolcage, else ~/.cache/toolcage (root: /var/cache/toolcage); a relative cacheDir is the rootDir’s', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 1000)).toBe('/x/cache/toolcage');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, 1000)).toBe(
      join(homedir(), '.cache/toolcage'),
    );
    expect(defaultCacheDir({}, 1000)).toBe(join(homedir(), '.cache/toolcage'));
    expect(defaultCacheDir({}, 0)).toBe('/var/cache/toolcage');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 0)).toBe('/x/cache/toolcage');
    expect(normalizeOptions({ rootDir: '/p', cacheDir: 'c' }).cacheDir).toBe('/p/c');
  });

  test('a build the sandbox refuses is spawn_failed, saying what it cannot enforce', async () => {
    const refusing: Sandbox = {
      prepare: () =>
        Promise.reject(
          new SandboxRefusal('its permissions', 'bubblewrap (bwrap) is not installed'),
        ),
      sweep: () => Promise.resolve({ tempDirs: [], cgroups: [] }),
      settled: () => Promise.resolve(),
    };
    const tool = write('p/tools/t.ts', 'export default () => 1;\n');
    const options = normalizeOptions({ rootDir: dir, cacheDir: join(dir, 'cache') });
    const bundler = createBundler(options, {
      sandbox: refusing,
      bunPath: '/nonexistent/bun',
      bunVersion: () => Promise.resolve('0.0.0'),
      files: packageFiles(),
    });
    const error = await rejectionOf(
      Promise.resolve(
        bundler.module(resolveTool({ toolPath: tool }, options), resolvePermissions({}), {
          signal: new AbortController().signal,
          timeoutMs: 1_000,
        }),
      ),
    );
    await bundler.close();
    expect(error['kind']).toBe(ErrorKind.SpawnFailed);
    expect(error['message']).toBe(
      'Tool `t` could not be started: the sandbox cannot enforce its permissions: bubblewrap (bwrap) is not installed',
    );
    // Nothing of the refused build is left in the cache.
    expect(readdirSync(join(dir, 'cache/v2/tmp'))).toEqual([]);
  });
});
