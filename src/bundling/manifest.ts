/** A cache entry as stored (`entries/<key>.json`), and what checks one read back. */
import type { InputRecord } from './freshness.js';

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
  /** The bundle's path in `bundles/` (`<s>/<h>/<name>.js`), its SHA-256 and size, and its bytecode's. */
  readonly bundle: BundleFiles;
  /**
   * Data files inlined from outside the tool's package (see assets.ts): each call must be allowed
   * to read them.
   */
  readonly assets: readonly string[];
  /** Modules inlined (the graph, without the config files). */
  readonly modules: number;
  readonly buildMs: number;
  readonly builtAt: string;
}

/** A bundle as stored: `<file>` and, with bytecode, `<file>.jsc`; with a source map, `<file>.map`. */
export interface BundleFiles {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly bytecode?: { readonly sha256: string; readonly bytes: number };
  /** Never executed, so never verified: a map that is gone only leaves stacks unmapped. */
  readonly sourcemap?: { readonly sha256: string; readonly bytes: number };
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

/** True when `value` (parsed JSON) has the shape of a {@link Manifest}; a torn one does not. */
export function isManifest(value: unknown): value is Manifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<Manifest>;
  return (
    m.version === 1 &&
    typeof m.entry === 'string' &&
    typeof m.bunVersion === 'string' &&
    typeof m.options === 'string' &&
    Array.isArray(m.inputs) &&
    (m.inputs as unknown[]).every(isInputRecord) &&
    Array.isArray(m.assets) &&
    (m.assets as unknown[]).every((asset) => typeof asset === 'string') &&
    typeof m.bundle === 'object' &&
    m.bundle !== null &&
    typeof m.bundle.file === 'string' &&
    /^([0-9a-f])\/([0-9a-f])\/\1\2[0-9a-f]{62}\.js$/.test(m.bundle.file) &&
    typeof m.bundle.sha256 === 'string' &&
    typeof m.bundle.bytes === 'number' &&
    isFileRecord(m.bundle.bytecode) &&
    isFileRecord(m.bundle.sourcemap)
  );
}

// An optional file beside the bundle: absent, or its hash and size.
function isFileRecord(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'object' || value === null) return false;
  const record = value as { sha256?: unknown; bytes?: unknown };
  return typeof record.sha256 === 'string' && typeof record.bytes === 'number';
}
