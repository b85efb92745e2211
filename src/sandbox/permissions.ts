/**
 * The permission model: validation (TypeError on misuse), resolution of a tool's permissions
 * from the runtime defaults, and narrowing by a call (which may never widen them).
 */
import { isAbsolute, resolve, sep } from 'node:path';
import { describeValue } from '../errors/describe-value.js';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import { canonicalNet, isPatternProblem, narrowNet } from '../network/net-permission.js';
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

/** Nothing granted: the defaults the README lists. */
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
    if (checkPatterns) canonicalNetOf(net as string[], name);
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
 * The permissions one call runs with: its tool's ({@link toolPermissions}), narrowed by the
 * call's when it gives some ({@link callPermissions}).
 */
export function resolvePermissions(
  tool?: Permissions,
  defaults?: Permissions,
  call?: Permissions,
  options: ResolveOptions = {},
): ResolvedPermissions {
  const base = toolPermissions(tool, defaults, options.baseDir);
  return call === undefined ? base : callPermissions(base, call, options);
}

/**
 * A tool's own permissions: the runtime `defaults` overridden field by field by the tool
 * definition's, validated (TypeError), paths absolute and normalised against `baseDir`, host
 * patterns canonical.
 */
export function toolPermissions(
  tool?: Permissions,
  defaults?: Permissions,
  baseDir?: string,
): ResolvedPermissions {
  if (defaults !== undefined) validatePermissions(defaults, 'defaults.permissions', false);
  if (tool !== undefined) validatePermissions(tool, 'tool permissions', false);
  const merged = { ...defaults, ...definedFields(tool) };
  const owner = tool?.net !== undefined ? 'tool permissions' : 'defaults.permissions';
  return { ...filled(merged, baseDir), net: canonicalNetOf(merged.net, owner) };
}

/**
 * A call's permissions within its tool's (`base`): paths resolved as for the tool, `net`
 * canonicalised and checked against the tool's in one pass. A requested path must lie inside a
 * path `base` grants (a read may lie inside a granted write path); `net`, `run` and each
 * variable of `env` must be granted by `base`. A call's values are ones an agent may have made
 * up: a bad host pattern, or anything wider than `base`, is refused with a `ToolExecutionError`
 * of kind `invalid_request` naming it, rather than silently dropped: the caller asked for
 * something it believed it had.
 */
export function callPermissions(
  base: ResolvedPermissions,
  call: Permissions,
  options: ResolveOptions = {},
): ResolvedPermissions {
  validatePermissions(call, 'permissions', false);
  const toolId = options.toolId ?? '(unknown)';
  const net = narrowNet(base.net, call.net);
  if (isPatternProblem(net)) {
    throw new ToolExecutionError({
      kind: ErrorKind.InvalidRequest,
      toolId,
      message: `Invalid request for tool \`${toolId}\`: \`permissions.net[${net.index}]\` is not a host pattern: ${describeValue(net.entry)} ${net.problem}`,
    });
  }
  const requested = { ...filled(call, options.baseDir), net: 'net' in net ? net.net : false };
  refuseWider(base, requested, 'widens' in net ? net.widens : undefined, toolId);
  return requested;
}

// Refuses the first permission of `requested` that `base` does not grant (`widenedNet`: why its
// `net` does not fit, if it does not).
function refuseWider(
  base: ResolvedPermissions,
  requested: ResolvedPermissions,
  widenedNet: string | undefined,
  toolId: string,
): void {
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
  if (widenedNet !== undefined) refuse(widenedNet);
  if (requested.run && !base.run) refuse('`run` is not granted');
  for (const name of requested.env) {
    if (!base.env.includes(name)) refuse(`\`env\` variable ${name} is not granted`);
  }
}

/** True when `path` is `parent` or lies below it (both absolute and normalised). */
export function isInside(path: string, parent: string): boolean {
  if (path === parent || parent === sep) return true;
  return path.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

function isInsideAny(path: string, parents: readonly string[]): boolean {
  return parents.some((parent) => isInside(path, parent));
}

// Every field but `net` filled: paths absolute, normalised, without duplicates or a trailing slash.
function filled(
  permissions: Permissions,
  baseDir = process.cwd(),
): Omit<ResolvedPermissions, 'net'> {
  const paths = (list: readonly string[] | undefined): string[] => [
    ...new Set((list ?? []).map((p) => (isAbsolute(p) ? resolve(p) : resolve(baseDir, p)))),
  ];
  return {
    read: paths(permissions.read),
    write: paths(permissions.write),
    env: [...new Set(permissions.env ?? [])],
    run: permissions.run ?? false,
  };
}

// `net` canonical, or the TypeError that names the bad entry of `name` (a configuration's).
function canonicalNetOf(
  net: boolean | readonly string[] | undefined,
  name: string,
): boolean | readonly string[] {
  const canonical = canonicalNet(net);
  if (isPatternProblem(canonical)) {
    throw new TypeError(
      `Expected \`${name}.net[${canonical.index}]\` to be a host pattern (\`api.example.com\`, \`api.example.com:8443\`, \`*.example.com\`, an IP address or CIDR block), got ${describeValue(canonical.entry)}: it ${canonical.problem}`,
    );
  }
  return canonical;
}

// `{ net: undefined }` must not erase a default under exactOptionalPropertyTypes-style spreads.
function definedFields(permissions: Permissions | undefined): Permissions {
  if (permissions === undefined) return {};
  const entries = Object.entries(permissions).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries);
}

function typeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${describeValue(value)}`);
}
