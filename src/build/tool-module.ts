/** What a call runs, and what the sandbox shows of the tool for it. */
import { dirname } from 'node:path';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ResolvedTool } from '../runtime/resolve-tool.js';
import { isInside } from '../sandbox/permissions.js';
import type { ResolvedPermissions, ToolView } from '../sandbox/types.js';
import { MaskScanError, masksOutsideGrants, type DirectoryMasks } from './mask.js';

/** What a call runs. */
export interface ToolModule {
  /** The module the worker imports. */
  readonly modulePath: string;
  /** What the sandbox shows of the tool. */
  readonly view: ToolView;
  /** What of the tool is visible inside (to tell a denied read from a missing file). */
  readonly visible: readonly string[];
  /** The module is a bundle that carries the worker: Bun runs it in the worker's place. */
  readonly carriesWorker: boolean;
}

/**
 * A bundled tool. Sandboxed, the bundle is shown at the tool's own path and imported from there
 * (so `import.meta` and paths relative to it are the tool's): Bun runs a file that starts with
 * its `// @bun` pragma, as every bundle does, without transpiling it, whatever its extension
 * (observed on Bun 1.4.5: a `.ts` file with the pragma and a type annotation fails with a
 * JavaScript SyntaxError), so a `.ts` path holding JavaScript is read as JavaScript; and it finds
 * the bytecode at `<path>.jsc`. Where a grant shows the tool's directory, the mount point
 * `<path>.jsc` could not be made in it (read-only), and where one names the tool's file it would
 * be mounted over the bundle: the bundle then keeps its cache path (a CommonJS bundle's
 * `import.meta` and `__filename` are the tool's either way: Bun inlines them at build time).
 * Unsandboxed there is no view at all.
 */
export function bundleModule(
  tool: ResolvedTool,
  bundle: { readonly bundle: string; readonly bytecode: string | undefined },
  permissions: ResolvedPermissions,
  sandboxed: boolean,
): ToolModule {
  const dir = dirname(tool.path);
  const atToolPath =
    sandboxed &&
    ![...permissions.read, ...permissions.write].some(
      (grant) => isInside(dir, grant) || grant.startsWith(tool.path),
    );
  const file = atToolPath ? tool.path : bundle.bundle;
  return {
    modulePath: file,
    view: {
      kind: 'bundle',
      file,
      source: bundle.bundle,
      ...(bundle.bytecode === undefined ? {} : { bytecode: bundle.bytecode }),
    },
    visible: bundle.bytecode === undefined ? [file] : [file, `${file}.jsc`],
    carriesWorker: true,
  };
}

/** A `bundle: false` tool: its source, in its directory with secret-bearing entries masked. */
export function directoryModule(
  tool: ResolvedTool,
  masks: DirectoryMasks,
  permissions: ResolvedPermissions,
): ToolModule {
  const dir = dirname(tool.path);
  let masked;
  try {
    masked = masksOutsideGrants(masks.masks(dir), permissions);
  } catch (error) {
    if (!(error instanceof MaskScanError)) throw error;
    throw new ToolExecutionError({
      kind: ErrorKind.SpawnFailed,
      toolId: tool.toolId,
      message: `Tool \`${tool.toolId}\` could not be started (bundle: false): ${error.message}; bundle it, or move it to a directory of its own`,
    });
  }
  return {
    modulePath: tool.path,
    view: { kind: 'directory', dir, masked },
    visible: [dir],
    carriesWorker: false,
  };
}
