/** The tools of the runtime's registry (`tools`): what defines one, and its checks. */
import { validateLimits } from '../sandbox/limits.js';
import { validatePermissions } from '../sandbox/permissions.js';
import type { Limits, Permissions } from '../sandbox/types.js';
import { expectPositiveInteger, expectType } from '../errors/expect.js';

/** A tool in the registry. */
export interface ToolDefinition {
  /** Module path, relative to `rootDir` or absolute inside `toolRoots`. */
  readonly path: string;
  /** Export to call. @default 'default' */
  readonly export?: string;
  /** Deadline of this tool's executions, ms. @default the runtime's `defaults.timeoutMs` */
  readonly timeoutMs?: number;
  /** What this tool may touch; calls can only narrow it. @default the runtime's `defaults.permissions` */
  readonly permissions?: Permissions;
  /** Limits of this tool; calls can only lower them. @default the runtime's `defaults.limits` */
  readonly limits?: Limits;
  /**
   * With `prewarm`, import the module in the prewarmed process ahead of its request, off the
   * call's path (docs/performance.md, "Preloading a tool"). The module's top level then runs before
   * the request exists: without the call's `env` (the process environment is still empty) and
   * even for a process that is retired unused. Safe for tools whose top level only defines
   * things; leave it off for a tool that reads the environment or does I/O when imported.
   * The process is still single-use. @default false
   */
  readonly preload?: boolean;
  /**
   * Compile the tool with its imports into one module, and show the sandbox only that file.
   * `false` runs the source from its directory, which the sandbox then shows whole (read-only)
   * but for secret-bearing files (bundling/secret-patterns.ts, and `maskPatterns`):
   * for a tool that imports modules by computed paths or reads files beside itself. @default true
   */
  readonly bundle?: boolean;
}

/** The registry by id, each definition's types checked (TypeError on misuse). */
export function normalizeTools(
  tools: Readonly<Record<string, ToolDefinition>> | undefined,
): Map<string, ToolDefinition> {
  const registry = new Map<string, ToolDefinition>();
  if (tools === undefined) return registry;
  expectType('tools', tools, 'object');
  for (const [id, definition] of Object.entries(tools)) {
    validateToolDefinition(`tools.${id}`, definition);
    registry.set(id, definition);
  }
  return registry;
}

function validateToolDefinition(name: string, definition: ToolDefinition): void {
  expectType(name, definition, 'object');
  expectType(`${name}.path`, definition.path, 'string');
  if (definition.export !== undefined) expectType(`${name}.export`, definition.export, 'string');
  if (definition.timeoutMs !== undefined)
    expectPositiveInteger(`${name}.timeoutMs`, definition.timeoutMs);
  if (definition.preload !== undefined)
    expectType(`${name}.preload`, definition.preload, 'boolean');
  if (definition.bundle !== undefined) expectType(`${name}.bundle`, definition.bundle, 'boolean');
  if (definition.permissions !== undefined)
    validatePermissions(definition.permissions, `${name}.permissions`);
  if (definition.limits !== undefined) validateLimits(definition.limits, `${name}.limits`);
}
