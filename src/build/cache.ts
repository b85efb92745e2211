/**
 * The build cache, shared by every runtime and process of a user:
 *
 *   <dir>/v1/entries/<key>.json   a manifest per (tool entry, Bun version, build options): the
 *                                 inputs with their stats and content hashes, and the bundle
 *   <dir>/v1/bundles/<sha>.js     bundles, named by the SHA-256 of their content, each with its
 *                                 Bun bytecode beside it (`<sha>.js.jsc`) when it has some
 *                                 (the name then covers both)
 *   <dir>/v1/tmp/                 builds in progress and files being written
 *
 * Every write is a complete file renamed into place, so a reader sees an old entry or a new
 * one, never half of one; concurrent writers of the same entry each leave a valid one (the last
 * rename wins). A manifest that does not parse, or a bundle whose hash is not the manifest's,
 * is rebuilt, never executed. The size is bounded: after each write the least recently used
 * entries go until the total is under `maxBytes`.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { hashFile, type InputRecord } from './freshness.js';

/** Default bound of the cache's size. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

// A build's staging directory older than this belongs to a process that died.
const STALE_TMP_MS = 30 * 60_000;
// A bundle no manifest names may be one another process is committing right now.
const ORPHAN_GRACE_MS = 10 * 60_000;
const LAYOUT = 'v1';

/** One cache entry. */
export interface Manifest {
  readonly version: 1;
  /** The tool's entry module (absolute real path). */
  readonly entry: string;
  readonly bunVersion: string;
  /** The build options, as part of the key. */
  readonly options: string;
  /** Every module of the graph and every package.json/tsconfig.json that steered resolution. */
  readonly inputs: readonly InputRecord[];
  /** The bundle's file name in `bundles/`, its SHA-256 and size, and its bytecode's. */
  readonly bundle: BundleFiles;
  /** Modules inlined (the graph, without the config files). */
  readonly modules: number;
  readonly buildMs: number;
  readonly builtAt: string;
}

/** A bundle as stored: `<file>` and, with bytecode, `<file>.jsc`. */
export interface BundleFiles {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly bytecode?: { readonly sha256: string; readonly bytes: number };
}

/** Where the cache is by default: `$XDG_CACHE_HOME/toolcage`, else `~/.cache/toolcage`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(
    xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'),
    'toolcage',
  );
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
   * Moves a built bundle (and its bytecode `<file>.jsc`, when `withBytecode`) into `bundles/`,
   * named by its hash, and, unless `manifest` is undefined, writes the entry's manifest.
   * The bytecode goes first: a bundle is never in place without the bytecode it names.
   */
  commit(
    key: string,
    file: string,
    withBytecode: boolean,
    manifest: ((bundle: BundleFiles) => Manifest) | undefined,
  ): BundleFiles {
    const sha256 = hashFile(file);
    const bytecodeSha = withBytecode ? hashFile(`${file}.jsc`) : undefined;
    if (sha256 === undefined || (withBytecode && bytecodeSha === undefined))
      throw new Error(`the build wrote no bundle at ${file}`);
    // Named by the content of both files: two builds that differ in either never share a name.
    const name =
      bytecodeSha === undefined
        ? sha256
        : createHash('sha256').update(`${sha256}:${bytecodeSha}`).digest('hex');
    const bundle: BundleFiles = {
      file: `${name}.js`,
      sha256,
      bytes: statSync(file).size,
      ...(bytecodeSha === undefined
        ? {}
        : { bytecode: { sha256: bytecodeSha, bytes: statSync(`${file}.jsc`).size } }),
    };
    const target = join(this.#bundles, bundle.file);
    if (withBytecode) {
      chmodSync(`${file}.jsc`, 0o444);
      renameSync(`${file}.jsc`, `${target}.jsc`);
    }
    chmodSync(file, 0o444);
    renameSync(file, target);
    if (manifest !== undefined) {
      this.#writeAtomically(join(this.#entries, `${key}.json`), JSON.stringify(manifest(bundle)));
    }
    this.evict(key);
    return bundle;
  }

  /** Removes least recently used entries until the cache fits `maxBytes` (never `keep`). */
  evict(keep?: string): void {
    const now = Date.now();
    const manifests = list(this.#entries).filter((file) => file.name.endsWith('.json'));
    const bundles = new Map(list(this.#bundles).map((file) => [file.name, file]));
    const bundleOf = new Map<string, string>();
    for (const file of manifests) {
      const manifest = this.read(file.name.slice(0, -5));
      if (manifest !== undefined) bundleOf.set(file.name, manifest.bundle.file);
    }
    const named = new Set([...bundleOf.values()].flatMap((file) => [file, `${file}.jsc`]));
    for (const [name, file] of bundles) {
      if (!named.has(name) && now - file.mtimeMs > ORPHAN_GRACE_MS) {
        rmSync(join(this.#bundles, name), { force: true });
        bundles.delete(name);
      }
    }
    for (const dir of list(this.#tmp)) {
      if (now - dir.mtimeMs > STALE_TMP_MS)
        rmSync(join(this.#tmp, dir.name), { recursive: true, force: true });
    }
    let total = [...manifests, ...bundles.values()].reduce((sum, file) => sum + file.size, 0);
    const byAge = manifests.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const file of byAge) {
      if (total <= this.maxBytes) break;
      if (file.name === `${keep}.json`) continue;
      rmSync(join(this.#entries, file.name), { force: true });
      total -= file.size;
      const bundle = bundleOf.get(file.name);
      bundleOf.delete(file.name);
      if (bundle !== undefined && ![...bundleOf.values()].includes(bundle)) {
        for (const name of [bundle, `${bundle}.jsc`]) {
          rmSync(join(this.#bundles, name), { force: true });
          total -= bundles.get(name)?.size ?? 0;
        }
      }
    }
  }

  /** What the cache holds (for `toolcage doctor`). */
  usage(): CacheUsage {
    const entries = list(this.#entries);
    const files = [...entries, ...list(this.#bundles)];
    return {
      dir: this.dir,
      bytes: files.reduce((sum, file) => sum + file.size, 0),
      entries: entries.length,
      maxBytes: this.maxBytes,
    };
  }

  #ensureLayout(): void {
    if (this.#made) return;
    // 0700: bundles hold the tools' code.
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const dir of [this.#entries, this.#bundles, this.#tmp])
      mkdirSync(dir, { recursive: true, mode: 0o700 });
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

interface Listed {
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

function list(dir: string): Listed[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: Listed[] = [];
  for (const name of names) {
    const stat = statSync(join(dir, name), { throwIfNoEntry: false });
    if (stat !== undefined) files.push({ name, size: stat.size, mtimeMs: stat.mtimeMs });
  }
  return files;
}

function isInputRecord(value: unknown): value is InputRecord {
  if (typeof value !== 'object' || value === null) return false;
  const input = value as Partial<InputRecord>;
  return (
    typeof input.path === 'string' &&
    typeof input.sha256 === 'string' &&
    typeof input.size === 'number' &&
    typeof input.mtimeMs === 'number' &&
    typeof input.ctimeMs === 'number' &&
    typeof input.ino === 'number'
  );
}

function isManifest(value: unknown): value is Manifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<Manifest>;
  return (
    m.version === 1 &&
    typeof m.entry === 'string' &&
    typeof m.bunVersion === 'string' &&
    typeof m.options === 'string' &&
    Array.isArray(m.inputs) &&
    (m.inputs as unknown[]).every(isInputRecord) &&
    typeof m.bundle === 'object' &&
    m.bundle !== null &&
    typeof m.bundle.file === 'string' &&
    /^[0-9a-f]{64}\.js$/.test(m.bundle.file) &&
    typeof m.bundle.sha256 === 'string' &&
    typeof m.bundle.bytes === 'number' &&
    (m.bundle.bytecode === undefined ||
      (typeof m.bundle.bytecode.sha256 === 'string' && typeof m.bundle.bytecode.bytes === 'number'))
  );
}
