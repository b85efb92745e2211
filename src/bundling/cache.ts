/**
 * The build cache, shared by every runtime and process of a user (docs/tools.md, "Tools with
 * dependencies"): `<dir>/v2/entries/<key>.json`, a manifest per (tool entry, Bun version, build
 * options); `<dir>/v2/bundles/<s>/<h>/<sha>.js`, bundles named by their content's SHA-256 (`s`,
 * `h`: its first two hex digits), with their bytecode (`.jsc`) and source map (`.map`) beside
 * them; `<dir>/v2/tmp/`, work in progress. Two levels of 16 directories, because Bun reads every
 * entry of the directory of the file it runs, and of each directory above it, at every start: an
 * unsandboxed call runs its bundle in place, and in one directory of 768 files Bun started 0.7 ms
 * later (docs/performance.md, "Where a bundle lies"); v1 kept them all in one. Every
 * write is a complete file renamed into place, so a reader sees an old entry or a new one, never
 * half; what does not parse or hash as its manifest says is rebuilt, never executed. LRU-bounded by
 * `maxBytes`.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { evictCache, listBundleFiles, listFiles } from './cache-evict.js';
import { hashFile } from './freshness.js';
import { isManifest, type BundleFiles, type Manifest } from './manifest.js';

export type { BundleFiles, Manifest } from './manifest.js';

/** Default bound of the cache's size. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

const LAYOUT = 'v2';

/**
 * Where the cache is by default: `$XDG_CACHE_HOME/toolcage`, else `~/.cache/toolcage`; for root,
 * `/var/cache/toolcage`: root's home is closed to the sandbox user that must bind the bundles.
 */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
): string {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'toolcage');
  return uid === 0 ? '/var/cache/toolcage' : join(homedir(), '.cache', 'toolcage');
}

/** What the cache holds. */
export interface CacheUsage {
  readonly dir: string;
  readonly bytes: number;
  readonly entries: number;
  readonly maxBytes: number;
}

/** One line for `toolcage doctor`. */
export function renderCacheUsage(usage: CacheUsage): string {
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `build cache: ${usage.dir} (${usage.entries} entries, ${mib(usage.bytes)} of at most ${mib(usage.maxBytes)})`;
}

/** The cache key of an entry: its path, Bun's version and the build options. */
export function entryKey(entry: string, bunVersion: string, options: string): string {
  return createHash('sha256')
    .update(JSON.stringify([LAYOUT, entry, bunVersion, options]))
    .digest('hex');
}

/** The cache under one directory. */
export class BuildCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #entries: string;
  readonly #bundles: string;
  readonly #tmp: string;
  #made = false;

  constructor(dir: string, maxBytes = DEFAULT_CACHE_MAX_BYTES) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    const root = join(dir, LAYOUT);
    this.#entries = join(root, 'entries');
    this.#bundles = join(root, 'bundles');
    this.#tmp = join(root, 'tmp');
  }

  /** The bundle file of a manifest (its bytecode, if any, is this path + `.jsc`). */
  bundlePath(manifest: Manifest): string {
    return join(this.#bundles, manifest.bundle.file);
  }

  /** The manifest stored under `key`, or undefined when there is none or it is unreadable. */
  read(key: string): Manifest | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(this.#entries, `${key}.json`), 'utf8'));
    } catch {
      return undefined;
    }
    return isManifest(parsed) ? parsed : undefined;
  }

  /** True when the manifest's bundle (and bytecode) is there with exactly the content it was built with. */
  verify(manifest: Manifest): boolean {
    const path = this.bundlePath(manifest);
    const { bytecode } = manifest.bundle;
    return (
      hashFile(path) === manifest.bundle.sha256 &&
      (bytecode === undefined || hashFile(`${path}.jsc`) === bytecode.sha256)
    );
  }

  /** Marks an entry as used now (eviction takes the least recently used first). */
  touch(key: string): void {
    const now = new Date();
    try {
      utimesSync(join(this.#entries, `${key}.json`), now, now);
    } catch {
      // Evicted meanwhile: it is written again at the next build.
    }
  }

  /** A fresh directory for one build's output (the build's only writable path). */
  staging(): string {
    this.#ensureLayout();
    return mkdtempSync(join(this.#tmp, 'build-'));
  }

  /** Removes a staging directory; never throws. */
  discard(staging: string): void {
    rmSync(staging, { recursive: true, force: true });
  }

  /**
   * Moves a built bundle (and its bytecode `<file>.jsc` and source map `<file>.map`, as `beside`
   * says) into `bundles/`, named by its hash, and, unless `manifest` is undefined, writes the
   * entry's manifest. The files beside it go first: a bundle is never in place without them.
   */
  commit(
    key: string,
    file: string,
    beside: { readonly bytecode: boolean; readonly sourcemap: boolean },
    manifest: ((bundle: BundleFiles) => Manifest) | undefined,
  ): BundleFiles {
    const sha256 = hashFile(file);
    const bytecode = beside.bytecode ? fileRecord(`${file}.jsc`) : undefined;
    const sourcemap = beside.sourcemap ? fileRecord(`${file}.map`) : undefined;
    if (
      sha256 === undefined ||
      (beside.bytecode && bytecode === undefined) ||
      (beside.sourcemap && sourcemap === undefined)
    )
      throw new Error(`the build wrote no bundle at ${file}`);
    // Named by the content of every file: two builds that differ in any never share a name.
    const name =
      bytecode === undefined && sourcemap === undefined
        ? sha256
        : createHash('sha256')
            .update([sha256, bytecode?.sha256 ?? '', sourcemap?.sha256 ?? ''].join(':'))
            .digest('hex');
    const bundle: BundleFiles = {
      file: bundleFileOf(name),
      sha256,
      bytes: statSync(file).size,
      ...(bytecode === undefined ? {} : { bytecode }),
      ...(sourcemap === undefined ? {} : { sourcemap }),
    };
    const target = join(this.#bundles, bundle.file);
    makeDirs(dirname(target));
    for (const [extension, record] of [
      ['.jsc', bytecode],
      ['.map', sourcemap],
    ] as const) {
      if (record === undefined) continue;
      seal(`${file}${extension}`);
      placeOnce(`${file}${extension}`, `${target}${extension}`, record.sha256);
    }
    seal(file);
    placeOnce(file, target, sha256);
    if (manifest !== undefined) {
      this.#writeAtomically(join(this.#entries, `${key}.json`), JSON.stringify(manifest(bundle)));
    }
    this.evict(key);
    return bundle;
  }

  /** Removes least recently used entries until the cache fits `maxBytes` (never `keep`). */
  evict(keep?: string): void {
    evictCache(
      { entries: this.#entries, bundles: this.#bundles, tmp: this.#tmp },
      this.maxBytes,
      keep === undefined ? undefined : `${keep}.json`,
      (name) => this.read(name.slice(0, -'.json'.length))?.bundle.file,
    );
  }

  /** What the cache holds (for `toolcage doctor`). */
  usage(): CacheUsage {
    const entries = listFiles(this.#entries);
    const files = [...entries, ...listBundleFiles(this.#bundles)];
    return {
      dir: this.dir,
      bytes: files.reduce((sum, file) => sum + file.size, 0),
      entries: entries.length,
      maxBytes: this.maxBytes,
    };
  }

  #ensureLayout(): void {
    if (this.#made) return;
    makeDirs(this.dir);
    for (const dir of [this.#entries, this.#bundles, this.#tmp]) makeDirs(dir);
    this.#made = true;
  }

  #writeAtomically(path: string, text: string): void {
    const temp = join(this.#tmp, `write-${randomUUID()}`);
    try {
      writeFileSync(temp, text, { mode: 0o600 });
      renameSync(temp, path);
    } finally {
      rmSync(temp, { force: true });
    }
  }
}

/**
 * Makes `path` and what is missing above it, each 0711: others may not list the bundles (they
 * hold the tools' code), but the sandbox's user (a root manager's `nobody`, see
 * sandbox/identity.ts) must pass through to bind one. Set with chmod, since mkdir's mode is
 * masked by the umask: under a service's 0077 every directory came out 0700, and every bundled
 * sandboxed call was refused. A directory that was there already keeps its mode.
 */
function makeDirs(path: string): void {
  const first = mkdirSync(path, { recursive: true, mode: 0o711 });
  if (first === undefined) return;
  for (let dir = path; ; dir = dirname(dir)) {
    chmodSync(dir, 0o711);
    if (dir === first || dir === dirname(dir)) break;
  }
}

/** Where a bundle named `name` (hex) lies in `bundles/`: `<first digit>/<second>/<name>.js`. */
function bundleFileOf(name: string): string {
  return `${name[0]}/${name[1]}/${name}.js`;
}

// Puts a built file at its content-named place, keeping the one there when it has this content:
// replacing it would swap the inode under the processes that have it bound into their sandbox
// (another manager sharing the cache, building the same tool at the same time), and Bun then
// finds its module "(deleted)". One with other content (tampered) is replaced.
function placeOnce(from: string, to: string, sha256: string): void {
  try {
    linkSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (hashFile(to) !== sha256) renameSync(from, to);
  } finally {
    rmSync(from, { force: true });
  }
}

// A built file as the cache keeps it: read-only, and the manager's own — a build sandboxed as
// another user (a root manager's sandbox user) wrote it, and that user must not change it later.
function seal(file: string): void {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === 0 && gid !== undefined && statSync(file).uid !== uid) chownSync(file, uid, gid);
  chmodSync(file, 0o444);
}

// A file's hash and size; undefined when it is missing.
function fileRecord(path: string): { readonly sha256: string; readonly bytes: number } | undefined {
  const sha256 = hashFile(path);
  return sha256 === undefined ? undefined : { sha256, bytes: statSync(path).size };
}
