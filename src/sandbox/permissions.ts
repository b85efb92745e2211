/**
 * The permission model: validation (TypeError on misuse), resolution of a tool's permissions
 * from the runtime defaults, and narrowing by a call (which may never widen them).
 */
import { isAbsolute, resolve, sep } from 'node:path';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import { canonicalNet, isPatternProblem, netWidening } from '../network/net-permission.js';
import type { Permissions, ResolvedPermissions } from './types.js';

/** Where relative paths are resolved from, and who the permissions belong to (for messages). */
export interface ResolveOptions {
  /** Base of relative paths. @default process.cwd() */
  readonly baseDir?: string;
  /** Named in `invalid_request` errors. @default '(unknown)' */
  readonly toolId?: string;
}

const KEYS = ['read', 'write', 'net', 'env', 'run'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Nothing granted: the defaults of DESIGN.md. */
export const NO_PERMISSIONS: ResolvedPermissions = Object.freeze({
  read: [],
  write: [],
  net: false,
  env: [],
  run: false,
});

/**
 * Throws a TypeError worded like "Expected `permissions.net` to be a boolean, got `1` (number)"
 * when `value` is not a {@link Permissions} object. Unknown keys are errors (a typo such as
 * `network: true` must not silently grant nothing). With `checkPatterns` (the default) each host
 * pattern of `net` is checked too, naming the entry; a call's patterns are values an agent may
 * have made up, so they are checked later, as `invalid_request` (see {@link resolvePermissions}).
 */
export function validatePermissions(
  value: unknown,
  name = 'permissions',
  checkPatterns = true,
): asserts value is Permissions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw typeError(name, 'an object', value);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Expected \`${name}\` to have only the keys ${KEYS.map((k) => `\`${k}\``).join(', ')}, got \`${key}\``,
      );
    }
  }
  for (const key of ['read', 'write'] as const) {
    const paths = record[key];
    if (paths === undefined) continue;
    if (!Array.isArray(paths)) throw typeError(`${name}.${key}`, 'an array of paths', paths);
    paths.forEach((path: unknown, index) => {
      if (typeof path !== 'string' || path === '' || path.includes('\0')) {
        throw typeError(`${name}.${key}[${index}]`, 'a non-empty path without NUL', path);
      }
    });
  }
  const run = record['run'];
  if (run !== undefined && typeof run !== 'boolean')
    throw typeError(`${name}.run`, 'a boolean', run);
  const net = record['net'];
  if (net !== undefined && typeof net !== 'boolean') {
    if (!Array.isArray(net) || net.some((entry) => typeof entry !== 'string')) {
      throw typeError(`${name}.net`, 'a boolean or an array of host patterns', net);
    }
    const canonical = checkPatterns ? canonicalNet(net as string[]) : undefined;
    if (isPatternProblem(canonical)) {
      throw new TypeError(
        `Expected \`${name}.net[${canonical.index}]\` to be a host pattern (\`api.example.com\`, \`api.example.com:8443\`, \`*.example.com\`, an IP address or CIDR block), got ${describe(canonical.entry)}: it ${canonical.problem}`,
      );
    }
  }
  const env = record['env'];
  if (env !== undefined) {
    if (!Array.isArray(env)) throw typeError(`${name}.env`, 'an array of variable names', env);
    env.forEach((variable: unknown, index) => {
      if (typeof variable !== 'string' || !ENV_NAME.test(variable)) {
        throw typeError(`${name}.env[${index}]`, 'a variable name', variable);
      }
    });
  }
}

/**
 * The permissions one call runs with. The tool's own permissions are the runtime `defaults`
 * overridden field by field by the tool definition's; a call's permissions then narrow them
 * (see {@link narrowPermissions}). Paths come out absolute and normalised, relative ones
 * resolved against `options.baseDir`.
 */
export function resolvePermissions(
  tool?: Permissions,
  defaults?: Permissions,
  call?: Permissions,
  options: ResolveOptions = {},
): ResolvedPermissions {
  if (defaults !== undefined) validatePermissions(defaults, 'defaults.permissions');
  if (tool !== undefined) validatePermissions(tool, 'tool permissions');
  const base = fill({ ...defaults, ...definedFields(tool) }, options.baseDir);
  if (call === undefined) return base;
  validatePermissions(call, 'permissions', false);
  return narrowPermissions(base, fill(call, options.baseDir, options.toolId), options.toolId);
}

/**
 * Narrows `base` to `requested`. A requested path must lie inside a path `base` grants (a read
 * may lie inside a granted write path); `net`, `run` and each variable of `env` must be granted
 * by `base`. Anything wider is refused with a `ToolExecutionError` of kind `invalid_request`
 * naming the widened permission, rather than silently dropped: the caller asked for something
 * it believed it had.
 */
export function narrowPermissions(
  base: ResolvedPermissions,
  requested: ResolvedPermissions,
  toolId = '(unknown)',
): ResolvedPermissions {
  const refuse = (what: string): never => {
    throw new ToolExecutionError({
      kind: ErrorKind.InvalidRequest,
      toolId,
      message: `Invalid request for tool \`${toolId}\`: the call's permissions widen the tool's: ${what}`,
    });
  };
  for (const path of requested.read) {
    if (!isInsideAny(path, [...base.read, ...base.write]))
      refuse(`\`read\` of ${path} is not granted`);
  }
  for (const path of requested.write) {
    if (!isInsideAny(path, base.write)) refuse(`\`write\` of ${path} is not granted`);
  }
  const widenedNet = netWidening(base.net, requested.net);
  if (widenedNet !== undefined) refuse(widenedNet);
  if (requested.run && !base.run) refuse('`run` is not granted');
  for (const name of requested.env) {
    if (!base.env.includes(name)) refuse(`\`env\` variable ${name} is not granted`);
  }
  return requested;
}

/** True when `path` is `parent` or lies below it (both absolute and normalised). */
export function isInside(path: string, parent: string): boolean {
  if (path === parent || parent === sep) return true;
  return path.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

function isInsideAny(path: string, parents: readonly string[]): boolean {
  return parents.some((parent) => isInside(path, parent));
}

// Every field filled, paths absolute, normalised, without duplicates or a trailing slash; host
// patterns canonical (a bad one is the call's `invalid_request`: the tool's were checked before).
function fill(
  permissions: Permissions,
  baseDir = process.cwd(),
  toolId = '(unknown)',
): ResolvedPermissions {
  const net = canonicalNet(permissions.net);
  if (isPatternProblem(net)) {
    throw new ToolExecutionError({
      kind: ErrorKind.InvalidRequest,
      toolId,
      message: `Invalid request for tool \`${toolId}\`: \`permissions.net[${net.index}]\` is not a host pattern: ${describe(net.entry)} ${net.problem}`,
    });
  }
  const paths = (list: readonly string[] | undefined): string[] => [
    ...new Set((list ?? []).map((p) => (isAbsolute(p) ? resolve(p) : resolve(baseDir, p)))),
  ];
  return {
    read: paths(permissions.read),
    write: paths(permissions.write),
    net,
    env: [...new Set(permissions.env ?? [])],
    run: permissions.run ?? false,
  };
}

// `{ net: undefined }` must not erase a default under exactOptionalPropertyTypes-style spreads.
function definedFields(permissions: Permissions | undefined): Permissions {
  if (permissions === undefined) return {};
  const entries = Object.entries(permissions).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries);
}

function typeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

/** "`-1` (number)", like execa and p-queue word it. */
export function describe(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `\`${text}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`;
}
