/**
 * What `npm pack` ships: the MIT LICENSE that package.json names, every file the README links to
 * (examples/ included, without its repository-only tsconfig), and every subpath export's files.
 * The list comes from `npm pack --dry-run` itself (scripts off: it does not rebuild), so it
 * follows `files` and npm's own rules; dist/ must be built (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  exports: Record<string, Record<string, string>>;
};
let packed: Set<string>;

beforeAll(async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
  });
  const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  packed = new Set(pack!.files.map((file) => file.path));
}, 60_000);

describe('the packed package', () => {
  test('has the MIT LICENSE its package.json names', () => {
    expect(manifest.license).toBe('MIT');
    expect(packed.has('LICENSE')).toBe(true);
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
  });

  test('holds every file or directory the README links to', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)]
      .map((match) => match[1]!)
      .filter((target) => !/^[a-z]+:/.test(target));
    expect(links).toContain('examples/temporal/README.md');
    const missing = links.filter(
      (link) => !packed.has(link) && ![...packed].some((file) => file.startsWith(`${link}/`)),
    );
    expect(missing).toEqual([]);
  });

  test('ships the examples, without the tsconfig that points into the repository', () => {
    expect(packed).toContain('examples/temporal/worker.ts');
    expect(packed).toContain('examples/engine-http.ts');
    expect([...packed].filter((file) => file.endsWith('tsconfig.json'))).toEqual([]);
  });

  test('holds every file of every subpath export', () => {
    const targets = Object.values(manifest.exports).flatMap((conditions) =>
      Object.values(conditions).map((target) => target.replace(/^\.\//, '')),
    );
    expect(targets).toContain('dist/temporal/testing.js');
    expect(targets.filter((target) => !packed.has(target))).toEqual([]);
  });
});
