import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ExecuteRequest, NormalizedOptions, ToolDefinition } from './options.js';
import { checkPathText, checkToolId, printable, resolveInsideRoots } from './validate-path.js';

/** The tool an execution will run, resolved and checked. */
export interface ResolvedTool {
  /** Registry id, or the file's base name for an ad-hoc tool (low-cardinality telemetry label). */
  readonly toolId: string;
  /** Absolute real path of the module. */
  readonly path: string;
  readonly exportName: string;
  readonly definition: ToolDefinition | undefined;
}

const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/;

/**
 * Resolves the tools of one runtime. A registered tool is resolved (checked, real path found)
 * at its first call and reused while its real path is still a plain file — one `lstat` per call
 * instead of the checks and two `realpath`s (docs/performance.md, "Reusing a resolved tool"). A
 * file that is gone, or was replaced by a link, is resolved again, so
 * `tool_not_found` and the roots check still hold. The same object comes back each time, so
 * what is derived from it can be cached too (see effective.ts). Ad-hoc paths are resolved per call.
 */
export class ToolResolver {
  readonly #options: NormalizedOptions;
  readonly #registered = new Map<string, ResolvedTool>();

  constructor(options: NormalizedOptions) {
    this.#options = options;
  }

  resolve(request: ExecuteRequest): ResolvedTool {
    const id = request.toolId;
    if (id === undefined || request.toolPath !== undefined || request.exportName !== undefined) {
      return resolveTool(request, this.#options);
    }
    const cached = this.#registered.get(id);
    if (cached !== undefined && isPlainFile(cached.path)) return cached;
    const tool = resolveTool(request, this.#options);
    this.#registered.set(id, tool); // Only registered ids get here: resolveTool threw otherwise.
    return tool;
  }
}

function isPlainFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** Finds and checks the tool of a request; throws `invalid_request` or `tool_not_found`. */
export function resolveTool(request: ExecuteRequest, options: NormalizedOptions): ResolvedTool {
  const label =
    request.toolId ?? (request.toolPath === undefined ? '(none)' : adHocId(request.toolPath));
  const invalid = (message: string): ToolExecutionError =>
    new ToolExecutionError({
      kind: ErrorKind.InvalidRequest,
      toolId: label,
      message: `Invalid request for tool \`${printable(label)}\`: ${message}`,
    });

  if ((request.toolId === undefined) === (request.toolPath === undefined)) {
    throw invalid('give exactly one of `toolId` and `toolPath`');
  }
  let definition: ToolDefinition | undefined;
  let pathText: string;
  let exportName: string;
  if (request.toolId !== undefined) {
    const problem = checkToolId(request.toolId);
    if (problem !== undefined) throw invalid(problem);
    definition = options.tools.get(request.toolId);
    if (definition === undefined) {
      throw new ToolExecutionError({
        kind: ErrorKind.ToolNotFound,
        toolId: request.toolId,
        message: `Tool \`${request.toolId}\` is not registered`,
      });
    }
    pathText = definition.path;
    exportName = definition.export ?? 'default';
    if (request.exportName !== undefined)
      throw invalid('`exportName` applies to `toolPath` requests only');
  } else {
    if (!options.allowAdHocTools)
      throw invalid('ad-hoc tools (`toolPath`) are disabled in this runtime');
    pathText = request.toolPath!;
    exportName = request.exportName ?? 'default';
  }
  if (!EXPORT_NAME.test(exportName))
    throw invalid(`the export name \`${printable(exportName)}\` is not an identifier`);
  const problem = checkPathText(pathText);
  if (problem !== undefined) throw invalid(problem);
  const inside = resolveInsideRoots(pathText, options.rootDir, options.toolRoots);
  if ('reason' in inside) throw invalid(inside.reason);

  let real: string;
  try {
    real = realpathSync(inside.path);
    if (!statSync(real).isFile()) throw new Error('not a file');
  } catch {
    throw new ToolExecutionError({
      kind: ErrorKind.ToolNotFound,
      toolId: label,
      message: `Tool \`${printable(label)}\`: no module file at ${printable(inside.path)}`,
    });
  }
  // A symlink must not lead out of the roots.
  const realInside = resolveInsideRoots(
    real,
    options.rootDir,
    options.toolRoots.map((root) => safeRealpath(root)),
  );
  if ('reason' in realInside)
    throw invalid(`the tool path resolves (through a link) outside the allowed roots`);
  return { toolId: label, path: real, exportName, definition };
}

// The telemetry label of an ad-hoc tool: its file's base name without extension (or `adhoc`).
function adHocId(path: string): string {
  const name = basename(path, extname(path));
  return checkToolId(name) === undefined ? name : 'adhoc';
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
