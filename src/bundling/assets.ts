/**
 * Data a bundle inlines — an import that is not code: JSON, text, TOML, a file imported `with {
 * type: 'text' }` or `'file' }` — is a read of that file, made at build time and shipped inside
 * the bundle. Within the tool's own package (its nearest `package.json` directory, or the tool's
 * directory when there is none) that is the tool's own data; a dependency may inline data of its
 * own package. Anything else is read only when the tool may read it at run time: a `read` or
 * `write` grant of the file (or a directory holding it). Checked at the build against the
 * permissions of the call that built it, and at every call against that call's (a cached bundle
 * built under a grant does not serve a call without it).
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { isInside } from '../sandbox/permissions.js';
import type { ResolvedPermissions } from '../sandbox/types.js';
import { shortPath } from './compile-errors.js';
import type { BuildImport } from './compiler-protocol.js';

const CODE_EXTENSIONS = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs']);
const CODE_LOADERS = new Set(['js', 'jsx', 'ts', 'tsx']);

/** A data import from outside the importer's package. */
export interface OutsideAsset {
  /** The imported file (absolute). */
  readonly path: string;
  readonly from: string;
  /** The specifier as written. */
  readonly original: string;
}

/** The tool's package: its nearest directory with a `package.json`, else its own directory. */
export function toolPackage(toolPath: string): string {
  return nearestPackage(toolPath) ?? dirname(toolPath);
}

/**
 * The data imports of a graph (its `imports` of the modules it inlined, `inputs`; not an
 * external `node:fs`) that lie outside their importer's package.
 */
export function outsideAssets(
  graph: { readonly inputs: readonly string[]; readonly imports: readonly BuildImport[] },
  toolPath: string,
): OutsideAsset[] {
  const inlined = new Set(graph.inputs);
  const own = toolPackage(toolPath);
  const packages = new Map<string, string>();
  const packageOf = (module: string): string => {
    let found = packages.get(module);
    if (found === undefined) {
      // A module in no package of its own (no package.json above it) is the tool's.
      found = nearestPackage(module) ?? own;
      packages.set(module, found);
    }
    return found;
  };
  return graph.imports
    .filter(
      (edge) =>
        inlined.has(edge.path) && isData(edge) && !isInside(edge.path, packageOf(edge.from)),
    )
    .map(({ path, from, original }) => ({ path, from, original }));
}

/**
 * Why a call with `permissions` may not run a bundle inlining `assets`, or undefined. `root`:
 * the project's root, that messages name files relative to.
 */
export function refusedAsset(
  assets: readonly (OutsideAsset | string)[],
  permissions: ResolvedPermissions,
  toolPath: string,
  root: string,
): string | undefined {
  const grants = [...permissions.read, ...permissions.write];
  const refused = assets.find(
    (asset) =>
      !grants.some((grant) => isInside(typeof asset === 'string' ? asset : asset.path, grant)),
  );
  if (refused === undefined) return undefined;
  const path = typeof refused === 'string' ? refused : refused.path;
  const what =
    typeof refused === 'string'
      ? `it inlines ${shortPath(path, root)}`
      : `${shortPath(refused.from, root)} imports '${refused.original}'`;
  return `${what}, a data file outside the tool's package (${shortPath(toolPackage(toolPath), root)}) that it may not read; grant it with \`read\` (permissions.read: ['${path}'])`;
}

function isData(edge: BuildImport): boolean {
  if (edge.loader !== undefined && !CODE_LOADERS.has(edge.loader)) return true;
  return !CODE_EXTENSIONS.has(extname(edge.path));
}

function nearestPackage(module: string): string | undefined {
  for (let dir = dirname(module); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dir === dirname(dir)) return undefined;
  }
}
