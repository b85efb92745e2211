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
import { describeProblems, refusedGraph } from '../../src/build/build-errors.js';
import { buildOptions } from '../../src/build/build-tool.js';
import { evictCache } from '../../src/build/cache-evict.js';
import { checkInputs, recordInput } from '../../src/build/freshness.js';
import {
  DirectoryMasks,
  masksOutsideGrants,
  MaskScanError,
  scanDirectory,
} from '../../src/build/mask.js';
import {
  compileMaskPatterns,
  secretComponent,
  validateMaskPatterns,
} from '../../src/build/patterns.js';
import { buildView } from '../../src/build/project.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';
import { defaultCacheDir } from '../../src/build/cache.js';
import { createBundler } from '../../src/build/create-bundler.js';
import { ErrorKind } from '../../src/errors/kinds.js';
import { normalizeOptions, type ToolRuntimeOptions } from '../../src/runtime/options.js';
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
  ])('%s → %s', (name, masked) => {
    expect(matcher.matches(name)).toBe(masked);
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
      ['a/b'],
      'Expected `maskPatterns[0]` to be a file name pattern without `/` (like `*.secret`), got `a/b` (string)',
    ],
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

describe('the masks of a directory (bundle: false)', () => {
  const matcher = compileMaskPatterns();

  test('finds secret files and directories at any depth, not inside node_modules or masked dirs', () => {
    write('tool.ts');
    write('.env');
    write('sub/deeper/.env.local');
    write('sub/cert.pem');
    write('.git/config');
    write('.git/.env'); // inside a masked directory: hidden with it
    write('node_modules/pkg/.env'); // a package's, not the project's
    write('notes.txt');
    const scan = scanDirectory(dir, matcher, 1000);
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
    const scan = scanDirectory(dir, matcher, 1000);
    expect(scan.masked).toEqual([{ path: join(dir, 'config/prod.txt'), type: 'file' }]);
  });

  test('a tree larger than the bound is refused, not half-checked', () => {
    for (let i = 0; i < 30; i++) write(`many/f${i}.ts`);
    expect(() => scanDirectory(dir, matcher, 20)).toThrow(MaskScanError);
    expect(() => scanDirectory(dir, matcher, 20)).toThrow(
      'more than 20 entries outside node_modules',
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

  test('a grant naming, inside or around a masked entry keeps it visible', () => {
    const masked = [
      { path: '/p/tools/.env', type: 'file' as const },
      { path: '/p/tools/.git', type: 'directory' as const },
      { path: '/p/tools/sub/a.pem', type: 'file' as const },
    ];
    expect(masksOutsideGrants(masked, resolvePermissions({}))).toEqual(masked);
    expect(
      masksOutsideGrants(
        masked,
        resolvePermissions({ read: ['/p/tools/.env', '/p/tools/.git/hooks'] }),
      ),
    ).toEqual([masked[2]]);
    expect(masksOutsideGrants(masked, resolvePermissions({ write: ['/p/tools/sub'] }))).toEqual([
      masked[0],
      masked[1],
    ]);
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
    write('bundles/shared.js', 'x'.repeat(100));
    write('bundles/shared.js.jsc', 'x'.repeat(100));
    write('bundles/own.js', 'x'.repeat(100));
    entry('oldest', 'shared.js', 3_000);
    entry('older', 'own.js', 2_000);
    entry('newest', 'shared.js', 1_000);
    const bundleOf = (manifest: string): string =>
      readFileSync(join(dirs.entries, manifest), 'utf8');
    // Room for one entry and one bundle with its bytecode: the two oldest entries go; the bundle
    // the newest still names stays, the other goes with its only entry.
    evictCache(dirs, 250, undefined, bundleOf);
    expect(readdirSync(dirs.entries)).toEqual(['newest.json']);
    expect(readdirSync(dirs.bundles).sort()).toEqual(['shared.js', 'shared.js.jsc']);
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
          outputs: [entry, { name: 'tool.js.jsc', kind: 'bytecode' }],
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
    [{ maskPatterns: ['a/b'] }, 'Expected `maskPatterns[0]` to be a file name pattern'],
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
    expect(readdirSync(join(dir, 'cache/v1/tmp'))).toEqual([]);
  });
});
