/**
 * What the build of one tool may read: the project the tool belongs to, found the way Node's
 * resolution walks — up from the tool's directory.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isInside } from '../sandbox/permissions.js';

/** The read-only view of a build. */
export interface BuildView {
  /** The project's root; messages name files relative to it. */
  readonly root: string;
  /**
   * Bound read-only: the root, every `node_modules` above it (hoisted packages), and where the
   * links in those `node_modules` lead when that is outside (workspaces, `npm link`).
   */
  readonly read: readonly string[];
  /** From the tool's directory up to the root: where a project `bunfig.toml` would be. */
  readonly configDirs: readonly string[];
}

/**
 * What the build of `toolPath` (an absolute real path) may read, in the project `root`
 * ({@link projectRoot}; pass it when it is known already).
 */
export function buildView(toolPath: string, root = projectRoot(toolPath)): BuildView {
  const ancestors = ancestorsOf(toolPath);
  const above = ancestors.slice(ancestors.indexOf(root) + 1);
  const read = [root, ...above.map((dir) => join(dir, 'node_modules')).filter(isDirectory)];
  for (const modules of [join(root, 'node_modules'), ...read.slice(1)]) {
    for (const target of linkTargets(modules)) {
      if (!read.some((dir) => isInside(target, dir))) read.push(target);
    }
  }
  return { root, read, configDirs: ancestors.slice(0, ancestors.indexOf(root) + 1) };
}

/**
 * The project of `toolPath` (an absolute real path): the workspace root when an ancestor's
 * `package.json` declares `workspaces` (or has a `pnpm-workspace.yaml`), else the nearest
 * directory with a `package.json`, else the tool's own directory. Cheaper than
 * {@link buildView} (no `node_modules` listing): what a call needs when the cached bundle is
 * still valid.
 */
export function projectRoot(toolPath: string): string {
  const ancestors = ancestorsOf(toolPath);
  return (
    ancestors.find(isWorkspaceRoot) ??
    ancestors.find((dir) => existsSync(join(dir, 'package.json'))) ??
    dirname(toolPath)
  );
}

// The tool's directory and every directory above it, nearest first.
function ancestorsOf(toolPath: string): string[] {
  const ancestors: string[] = [];
  for (let dir = dirname(toolPath); ; dir = dirname(dir)) {
    ancestors.push(dir);
    if (dir === dirname(dir)) break;
  }
  return ancestors;
}

function isWorkspaceRoot(dir: string): boolean {
  if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return true;
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as unknown;
    return typeof manifest === 'object' && manifest !== null && 'workspaces' in manifest;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

// The real paths of the links among a node_modules's packages (`name` and `@scope/name`).
function linkTargets(modules: string): string[] {
  const targets: string[] = [];
  const visit = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        try {
          targets.push(realpathSync(path));
        } catch {
          // Dangling: it resolves to nothing inside either.
        }
      } else if (depth === 0 && entry.isDirectory() && entry.name.startsWith('@')) {
        visit(path, 1);
      }
    }
  };
  visit(modules, 0);
  return targets;
}
