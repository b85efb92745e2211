/**
 * Keeping the build cache within its bound: the least recently used entries go first (a use
 * touches its manifest), with their bundles; bundles no manifest names and staging directories
 * of builds that died go once they are old enough not to be another process's work in progress.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

// A build's staging directory older than this belongs to a process that died.
const STALE_TMP_MS = 30 * 60_000;
// A bundle no manifest names may be one another process is committing right now.
const ORPHAN_GRACE_MS = 10 * 60_000;

/** A file of the cache. */
export interface ListedFile {
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The cache's three directories. */
export interface CacheDirs {
  readonly entries: string;
  readonly bundles: string;
  readonly tmp: string;
}

/**
 * Removes entries, least recently used first, until manifests and bundles fit `maxBytes`;
 * never the manifest named `keep`. `bundleOf` reads a manifest's bundle file name.
 */
export function evictCache(
  dirs: CacheDirs,
  maxBytes: number,
  keep: string | undefined,
  bundleOf: (manifest: string) => string | undefined,
): void {
  const now = Date.now();
  const manifests = listFiles(dirs.entries).filter((file) => file.name.endsWith('.json'));
  const bundles = new Map(listBundleFiles(dirs.bundles).map((file) => [file.name, file]));
  const named = new Map<string, string>();
  for (const file of manifests) {
    const bundle = bundleOf(file.name);
    if (bundle !== undefined) named.set(file.name, bundle);
  }
  // How many manifests name each bundle (two tools with the same content share one).
  const users = new Map<string, number>();
  for (const bundle of named.values()) users.set(bundle, (users.get(bundle) ?? 0) + 1);
  const referenced = new Set([...users.keys()].flatMap(besideFiles));
  for (const [name, file] of bundles) {
    if (!referenced.has(name) && now - file.mtimeMs > ORPHAN_GRACE_MS) {
      rmSync(join(dirs.bundles, name), { force: true });
      bundles.delete(name);
    }
  }
  for (const dir of listFiles(dirs.tmp)) {
    if (now - dir.mtimeMs > STALE_TMP_MS)
      rmSync(join(dirs.tmp, dir.name), { recursive: true, force: true });
  }
  let total = [...manifests, ...bundles.values()].reduce((sum, file) => sum + file.size, 0);
  for (const file of manifests.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
    if (total <= maxBytes) break;
    if (file.name === keep) continue;
    rmSync(join(dirs.entries, file.name), { force: true });
    total -= file.size;
    const bundle = named.get(file.name);
    const left = bundle === undefined ? 0 : (users.get(bundle) ?? 1) - 1;
    if (bundle !== undefined) users.set(bundle, left);
    if (bundle !== undefined && left === 0) {
      for (const name of besideFiles(bundle)) {
        rmSync(join(dirs.bundles, name), { force: true });
        total -= bundles.get(name)?.size ?? 0;
      }
    }
  }
}

/** The files of a directory with their size and mtime (none when it does not exist). */
export function listFiles(dir: string): ListedFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: ListedFile[] = [];
  for (const name of names) {
    const stat = statSync(join(dir, name), { throwIfNoEntry: false });
    if (stat !== undefined) files.push({ name, size: stat.size, mtimeMs: stat.mtimeMs });
  }
  return files;
}

/**
 * The files of `bundles/`, two levels down (`<s>/<h>/<file>`, see cache.ts), named by their path
 * there. Anything else in it is not the cache's and is left alone.
 */
export function listBundleFiles(bundles: string): ListedFile[] {
  const files: ListedFile[] = [];
  for (const first of subdirectories(bundles)) {
    for (const second of subdirectories(join(bundles, first))) {
      const dir = `${first}/${second}`;
      for (const file of listFiles(join(bundles, dir))) {
        files.push({ ...file, name: `${dir}/${file.name}` });
      }
    }
  }
  return files;
}

// The one-hex-digit subdirectories of `dir`.
function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && /^[0-9a-f]$/.test(entry.name))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

// A bundle and the files that may lie beside it (bytecode, source map).
function besideFiles(bundle: string): string[] {
  return [bundle, `${bundle}.jsc`, `${bundle}.map`];
}
