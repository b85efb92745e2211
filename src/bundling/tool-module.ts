/** What a call runs, and what the sandbox shows of the tool for it. */
import { dirname } from 'node:path';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ToolSource } from './tool-source.js';
import { isInside } from '../sandbox/permissions.js';
import type { MaskedEntry, ResolvedPermissions, ToolView } from '../sandbox/types.js';
import { callMasks } from './call-masks.js';
import { MaskScanError, type DirectoryMasks } from './mask.js';

/** What a call runs. */
export interface ToolModule {
  /** The module the worker imports. */
  readonly modulePath: string;
  /** What the sandbox shows of the tool. */
  readonly view: ToolView;
  /** What of the tool is visible inside (to tell a denied read from a missing file). */
  readonly visible: readonly string[];
  /** Secret-bearing entries of the tool's directory and the granted ones, hidden (call-masks.ts). */
  readonly masked: readonly MaskedEntry[];
  /** The module is a bundle that carries the worker: Bun runs it in the worker's place. */
  readonly carriesWorker: boolean;
}

/**
 * A bundled tool. Sandboxed, the bundle is shown at the tool's own path and imported from there
 * (so `import.meta` and paths relative to it are the tool's): Bun runs a file that starts with
 * its `// @bun` pragma, as every bundle does, without transpiling it, whatever its extension
 * (observed: a `.ts` file with the pragma and a type annotation fails with a
 * JavaScript SyntaxError), so a `.ts` path holding JavaScript is read as JavaScript; and it finds
 * the bytecode at `<path>.jsc`. Where a grant shows the tool's directory, the mount point
 * `<path>.jsc` could not be made in it (read-only), and where one names the tool's file it would
 * be mounted over the bundle: the bundle then keeps its cache path (a CommonJS bundle's
 * `import.meta` and `__filename` are the tool's either way: Bun inlines them at build time).
 * Its source map is shown beside it as `<file>.map`, where Bun looks for it (see bun-compiler.ts).
 * Unsandboxed there is no view at all.
 */
export function bundleModule(
  tool: ToolSource,
  bundle: {
    readonly bundle: string;
    readonly bytecode: string | undefined;
    readonly sourcemap: string | undefined;
  },
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
      ...(bundle.sourcemap === undefined ? {} : { sourcemap: bundle.sourcemap }),
    },
    visible: [
      file,
      ...(bundle.bytecode === undefined ? [] : [`${file}.jsc`]),
      ...(bundle.sourcemap === undefined ? [] : [`${file}.map`]),
    ],
    masked: [],
    carriesWorker: true,
  };
}

/** A `bundle: false` tool: its source, in its directory (masked by {@link withMasks}). */
export function directoryModule(tool: ToolSource): ToolModule {
  const dir = dirname(tool.path);
  return {
    modulePath: tool.path,
    view: { kind: 'directory', dir },
    visible: [dir],
    masked: [],
    carriesWorker: false,
  };
}

/**
 * `module` with the masks of its call: the secret-bearing entries of its directory view and of
 * the granted directories. `runtimeFiles`: the other host paths shown (Bun, the worker's files).
 * Throws a ToolExecutionError, `spawn_failed`, when a directory is too large to be checked.
 */
export function withMasks(
  module: ToolModule,
  tool: ToolSource,
  masks: DirectoryMasks,
  permissions: ResolvedPermissions,
  runtimeFiles: readonly string[],
): ToolModule {
  const toolDir = module.view.kind === 'directory' ? module.view.dir : undefined;
  try {
    const masked = callMasks(
      masks,
      {
        ...(toolDir === undefined ? {} : { toolDir }),
        shown: [...module.visible, ...runtimeFiles],
      },
      permissions,
    );
    return masked.length === 0 ? module : { ...module, masked };
  } catch (error) {
    if (!(error instanceof MaskScanError)) throw error;
    const what = error.root === toolDir ? 'its directory (bundle: false)' : 'a granted directory';
    throw new ToolExecutionError({
      kind: ErrorKind.SpawnFailed,
      toolId: tool.toolId,
      message: `Tool \`${tool.toolId}\` could not be started: ${what} cannot be checked for secret files: ${error.message}; grant narrower paths${toolDir === undefined ? '' : ', bundle the tool, or move it to a directory of its own'}`,
    });
  }
}
