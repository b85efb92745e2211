import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ExecuteRequest, NormalizedOptions } from './runtime-options.js';
import type { ToolDefinition } from './tool-definition.js';
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
  const invalid = invalidRequest(label);

  if ((request.toolId === undefined) === (request.toolPath === undefined)) {
    throw invalid('give exactly one of `toolId` and `toolPath`');
  }
  const { definition, pathText, exportName } =
    request.toolId !== undefined
      ? registeredTool(request.toolId, request, options, invalid)
      : adHocTool(request.toolPath!, request, options, invalid);
  if (!EXPORT_NAME.test(exportName))
    throw invalid(`the export name \`${printable(exportName)}\` is not an identifier`);
  const real = moduleFile(pathText, label, options, invalid);
  return { toolId: label, path: real, exportName, definition };
}

// What a request names: the definition (registered tools), the module path and the export.
interface NamedTool {
  readonly definition: ToolDefinition | undefined;
  readonly pathText: string;
  readonly exportName: string;
}

type Invalid = (message: string) => ToolExecutionError;

// Makes the `invalid_request` errors of a request for the tool `label`.
function invalidRequest(label: string): Invalid {
  return (message) =>
    new ToolExecutionError({
      kind: ErrorKind.InvalidRequest,
      toolId: label,
      message: `Invalid request for tool \`${printable(label)}\`: ${message}`,
    });
}

function registeredTool(
  toolId: string,
  request: ExecuteRequest,
  options: NormalizedOptions,
  invalid: Invalid,
): NamedTool {
  const problem = checkToolId(toolId);
  if (problem !== undefined) throw invalid(problem);
  const definition = options.tools.get(toolId);
  if (definition === undefined) {
    throw new ToolExecutionError({
      kind: ErrorKind.ToolNotFound,
      toolId,
      message: `Tool \`${toolId}\` is not registered`,
    });
  }
  if (request.exportName !== undefined)
    throw invalid('`exportName` applies to `toolPath` requests only');
  return { definition, pathText: definition.path, exportName: definition.export ?? 'default' };
}

function adHocTool(
  toolPath: string,
  request: ExecuteRequest,
  options: NormalizedOptions,
  invalid: Invalid,
): NamedTool {
  if (!options.allowAdHocTools)
    throw invalid('ad-hoc tools (`toolPath`) are disabled in this runtime');
  return { definition: undefined, pathText: toolPath, exportName: request.exportName ?? 'default' };
}

// The module's real path: inside the roots as written, a file, and inside them still.
function moduleFile(
  pathText: string,
  label: string,
  options: NormalizedOptions,
  invalid: Invalid,
): string {
  const problem = checkPathText(pathText);
  if (problem !== undefined) throw invalid(problem);
  const inside = resolveInsideRoots(pathText, options.rootDir, options.toolRoots);
  if ('reason' in inside) throw invalid(inside.reason);
  const real = realModuleFile(inside.path, label);
  // A symlink must not lead out of the roots.
  const realInside = resolveInsideRoots(
    real,
    options.rootDir,
    options.toolRoots.map((root) => safeRealpath(root)),
  );
  if ('reason' in realInside)
    throw invalid(`the tool path resolves (through a link) outside the allowed roots`);
  return real;
}

// The real path of the tool's module, which must be a file (`tool_not_found` otherwise).
function realModuleFile(path: string, label: string): string {
  try {
    const real = realpathSync(path);
    if (!statSync(real).isFile()) throw new Error('not a file');
    return real;
  } catch {
    throw new ToolExecutionError({
      kind: ErrorKind.ToolNotFound,
      toolId: label,
      message: `Tool \`${printable(label)}\`: no module file at ${printable(path)}`,
    });
  }
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
