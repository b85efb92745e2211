import type { Denial } from '../errors/denial.js';
import { isAbsolute, resolve } from 'node:path';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { defaultCacheDir, DEFAULT_CACHE_MAX_BYTES } from '../bundling/cache.js';
import { validateMaskPatterns } from '../bundling/secret-patterns.js';
import {
  normalizeNetworkOptions,
  type NetworkOptions,
  type NormalizedNetworkOptions,
} from '../network/network-options.js';
import { validateLimits } from '../sandbox/limits.js';
import { validatePermissions } from '../sandbox/permissions.js';
import type { Enforcement, Limits, Permissions, SandboxMode } from '../sandbox/types.js';
import { describeValue } from '../errors/describe-value.js';
import { expectOneOf, expectPositiveInteger, expectType } from '../errors/expect.js';
import type { CapturedLogs } from '../errors/tool-execution-error.js';
import { normalizeTools, type ToolDefinition } from './tool-definition.js';

/** Options of {@link createToolRuntime}. All optional. */
export interface ToolRuntimeOptions {
  /** Registered tools by id. @default {} */
  readonly tools?: Readonly<Record<string, ToolDefinition>>;
  /** Defaults for every tool. */
  readonly defaults?: {
    /** @default 60000 */
    readonly timeoutMs?: number;
    readonly permissions?: Permissions;
    readonly limits?: Limits;
  };
  /** Executions running at once. @default 8 */
  readonly concurrency?: number;
  /** Executions waiting for a slot; one more is rejected at once (`resource_limit`, limit `queue`). @default 1024 */
  readonly maxQueued?: number;
  /** Processes started ahead of demand, per sandbox profile. @default 0 */
  readonly prewarm?: number;
  /** Idle prewarmed processes are retired after this long, ms. @default 30000 */
  readonly prewarmIdleMs?: number;
  /** `auto` (bubblewrap, refuse when missing), `bwrap`, or `none` (unsandboxed, explicit). @default 'auto' */
  readonly sandbox?: SandboxMode;
  /**
   * The egress proxy of `permissions.net` allow-lists: a static `hosts` map, whether allowed
   * names may reach private addresses (`allowPrivateAddresses`), the idle timeout.
   * @default { hosts: {}, allowPrivateAddresses: false, idleTimeoutMs: 60000 }
   */
  readonly network?: NetworkOptions;
  /** Base directory of relative tool paths. @default process.cwd() */
  readonly rootDir?: string;
  /** Directories ad-hoc and registered tool paths must lie in. @default [rootDir] */
  readonly toolRoots?: readonly string[];
  /** Allow `toolPath` requests (tools outside the registry, inside `toolRoots`). @default true */
  readonly allowAdHocTools?: boolean;
  /** SIGTERM this long before SIGKILL at a deadline or cancel, ms (the tool's `context.signal` aborts first). @default 0 */
  readonly killGraceMs?: number;
  /** Bun binary. @default `TOOLCAGE_BUN`, else the binary of the npm package `bun` */
  readonly bunPath?: string;
  /** Where compiled tools are cached (shared by runtimes and processes). @default `$XDG_CACHE_HOME/toolcage`, else `~/.cache/toolcage` */
  readonly cacheDir?: string;
  /** Bound of the cache's size; the least recently used entries go first. @default 268435456 (256 MiB) */
  readonly cacheMaxBytes?: number;
  /**
   * More names of secret-bearing files (`*` and `?` wildcards, one path component, or names
   * joined by `/`: `.config/gcloud`), besides the defaults (`.env*`, `.git`, `.ssh`, `.aws`,
   * `*.pem`, … — DEFAULT_MASK_PATTERNS, README "Secrets"): a bundle may not import them, and no
   * directory the sandbox shows (granted, or a `bundle: false` tool's) shows them. @default []
   */
  readonly maskPatterns?: readonly string[];
  /** Record metrics and spans. @default true */
  readonly telemetry?: boolean;
  /** Meter provider for toolcage's metrics. @default the global one, looked up at record time */
  readonly meterProvider?: MeterProvider;
  /** Tracer provider for the `runtime.execute_tool` span. @default the global one */
  readonly tracerProvider?: TracerProvider;
  /**
   * The host user a root manager runs its sandboxes as: a name or `uid[:gid]`; `root` keeps host
   * root (not recommended: `enforcement.user.hostRoot` and `doctor` flag it). A manager that is
   * not root runs them as itself. @default `TOOLCAGE_SANDBOX_USER`, else `nobody`
   */
  readonly sandboxUser?: string;
  /**
   * A delegated cgroup for the executions' cgroups, as a path in the cgroup hierarchy
   * (`/user.slice/engine`). @default `TOOLCAGE_CGROUP_PARENT`, else root: the hierarchy's root;
   * another user: its own cgroup when it may write there
   */
  readonly cgroupParent?: string;
  /** Refuse (`spawn_failed`) rather than bound memory and processes by rlimits when no cgroup can be written. @default false */
  readonly requireCgroups?: boolean;
}

/** One execution request. */
export interface ExecuteRequest {
  /** A registered tool id. Exactly one of `toolId` and `toolPath`. */
  readonly toolId?: string;
  /** An ad-hoc tool module path (inside `toolRoots`). */
  readonly toolPath?: string;
  /** Export of an ad-hoc tool. @default 'default' */
  readonly exportName?: string;
  /** The tool's input: any JSON value. @default null */
  readonly input?: unknown;
  /** The tool's configuration: JSON. @default {} */
  readonly config?: unknown;
  /** Extra variables for this call (validated; never `LD_*`, `NODE_OPTIONS`, …). @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** Deadline for this call, ms from the call; capped by the tool's. */
  readonly timeoutMs?: number;
  /** Narrows (never widens) the tool's permissions. */
  readonly permissions?: Permissions;
  /** Lowers (never raises) the tool's limits. */
  readonly limits?: Limits;
  /** Cancels a queued or running execution. */
  readonly signal?: AbortSignal;
  /** Receives every log line once, in order, one call per line; paced (see log-reader.ts). */
  readonly onLog?: (stream: 'stdout' | 'stderr', line: string) => void;
}

/** A successful execution. */
export interface ExecuteResult<T = unknown> {
  readonly output: T;
  readonly durationMs: number;
  readonly exitCode: number;
  readonly outputBytes: number;
  readonly logs: CapturedLogs;
  readonly enforcement: Enforcement;
  readonly executionId: string;
  /**
   * Denials toolcage observed although the tool succeeded (it handled the egress proxy's 403):
   * the first 64 refused connections, as data. Absent when there were none.
   */
  readonly denials?: readonly Denial[];
}

/** Options with every default filled in. */
export interface NormalizedOptions {
  readonly tools: ReadonlyMap<string, ToolDefinition>;
  readonly defaultTimeoutMs: number;
  readonly defaultPermissions: Permissions;
  readonly defaultLimits: Limits;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly prewarm: number;
  readonly prewarmIdleMs: number;
  readonly sandbox: SandboxMode;
  readonly network: NormalizedNetworkOptions;
  readonly rootDir: string;
  readonly toolRoots: readonly string[];
  readonly allowAdHocTools: boolean;
  readonly killGraceMs: number;
  readonly bunPath: string | undefined;
  readonly cacheDir: string;
  readonly cacheMaxBytes: number;
  readonly maskPatterns: readonly string[];
  readonly telemetry: boolean;
  readonly meterProvider: MeterProvider | undefined;
  readonly tracerProvider: TracerProvider | undefined;
  readonly sandboxUser: string | undefined;
  readonly cgroupParent: string | undefined;
  readonly requireCgroups: boolean;
}

/** Fills defaults and validates types (TypeError on misuse, before anything starts). */
export function normalizeOptions(options: ToolRuntimeOptions = {}): NormalizedOptions {
  expectType('options', options, 'object');
  const tools = normalizeTools(options.tools);
  const defaults = normalizeDefaults(options.defaults ?? {});
  const execution = normalizeExecution(options);
  const files = normalizeFiles(options);
  validateFlagsAndNames(options);
  return {
    tools,
    ...defaults,
    ...execution,
    network: normalizeNetworkOptions(options.network),
    ...files,
    allowAdHocTools: options.allowAdHocTools ?? true,
    bunPath: options.bunPath,
    cacheDir: resolve(files.rootDir, options.cacheDir ?? defaultCacheDir()),
    telemetry: options.telemetry ?? true,
    meterProvider: options.meterProvider,
    tracerProvider: options.tracerProvider,
    sandboxUser: options.sandboxUser,
    cgroupParent: options.cgroupParent,
    requireCgroups: options.requireCgroups ?? false,
  };
}

function normalizeDefaults(
  defaults: NonNullable<ToolRuntimeOptions['defaults']>,
): Pick<NormalizedOptions, 'defaultTimeoutMs' | 'defaultPermissions' | 'defaultLimits'> {
  if (defaults.permissions !== undefined)
    validatePermissions(defaults.permissions, 'defaults.permissions');
  if (defaults.limits !== undefined) validateLimits(defaults.limits, 'defaults.limits');
  const defaultTimeoutMs = defaults.timeoutMs ?? 60_000;
  expectPositiveInteger('defaults.timeoutMs', defaultTimeoutMs);
  return {
    defaultTimeoutMs,
    defaultPermissions: defaults.permissions ?? {},
    defaultLimits: defaults.limits ?? {},
  };
}

// How executions run: slots, queue, prewarmed processes, the sandbox, the kill's grace period.
function normalizeExecution(
  options: ToolRuntimeOptions,
): Pick<
  NormalizedOptions,
  'concurrency' | 'maxQueued' | 'prewarm' | 'prewarmIdleMs' | 'sandbox' | 'killGraceMs'
> {
  const concurrency = options.concurrency ?? 8;
  expectPositiveInteger('concurrency', concurrency);
  const maxQueued = options.maxQueued ?? 1024;
  expectPositiveInteger('maxQueued', maxQueued, true);
  const prewarm = options.prewarm ?? 0;
  expectPositiveInteger('prewarm', prewarm, true);
  const prewarmIdleMs = options.prewarmIdleMs ?? 30_000;
  expectPositiveInteger('prewarmIdleMs', prewarmIdleMs);
  const sandbox = options.sandbox ?? 'auto';
  expectOneOf('sandbox', sandbox, ['auto', 'bwrap', 'none'] as const);
  const killGraceMs = options.killGraceMs ?? 0;
  expectPositiveInteger('killGraceMs', killGraceMs, true);
  return { concurrency, maxQueued, prewarm, prewarmIdleMs, sandbox, killGraceMs };
}

// Where tools may lie, the build cache's bound, the secret-file patterns; `bunPath` and
// `cacheDir` are only type-checked here, in the order of the options.
function normalizeFiles(
  options: ToolRuntimeOptions,
): Pick<NormalizedOptions, 'rootDir' | 'toolRoots' | 'cacheMaxBytes' | 'maskPatterns'> {
  if (options.rootDir !== undefined) expectType('rootDir', options.rootDir, 'string');
  const rootDir = resolve(options.rootDir ?? process.cwd());
  const toolRoots = (options.toolRoots ?? [rootDir]).map((root, index) => {
    expectType(`toolRoots[${index}]`, root, 'string');
    return isAbsolute(root) ? resolve(root) : resolve(rootDir, root);
  });
  if (options.bunPath !== undefined) expectType('bunPath', options.bunPath, 'string');
  if (options.cacheDir !== undefined) expectType('cacheDir', options.cacheDir, 'string');
  const cacheMaxBytes = options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  expectPositiveInteger('cacheMaxBytes', cacheMaxBytes);
  const maskPatterns = options.maskPatterns ?? [];
  validateMaskPatterns(maskPatterns, 'maskPatterns');
  return { rootDir, toolRoots, cacheMaxBytes, maskPatterns };
}

// The flags and names used as given (or with a constant default): their types only.
function validateFlagsAndNames(options: ToolRuntimeOptions): void {
  if (options.telemetry !== undefined) expectType('telemetry', options.telemetry, 'boolean');
  if (options.allowAdHocTools !== undefined)
    expectType('allowAdHocTools', options.allowAdHocTools, 'boolean');
  for (const key of ['sandboxUser', 'cgroupParent'] as const) {
    if (options[key] !== undefined) expectType(key, options[key], 'string');
  }
  if (options.requireCgroups !== undefined)
    expectType('requireCgroups', options.requireCgroups, 'boolean');
}

/** Validates the types of a request (TypeError on misuse). Values are checked later (`invalid_request`). */
export function validateRequestTypes(request: ExecuteRequest): void {
  expectType('request', request, 'object');
  if (request.toolId !== undefined) expectType('toolId', request.toolId, 'string');
  if (request.toolPath !== undefined) expectType('toolPath', request.toolPath, 'string');
  if (request.exportName !== undefined) expectType('exportName', request.exportName, 'string');
  if (request.timeoutMs !== undefined) expectPositiveInteger('timeoutMs', request.timeoutMs);
  if (request.env !== undefined) expectType('env', request.env, 'object');
  // Host patterns are values (an agent may make them up): `invalid_request` later, not a TypeError.
  if (request.permissions !== undefined)
    validatePermissions(request.permissions, 'permissions', false);
  if (request.limits !== undefined) validateLimits(request.limits, 'limits');
  if (request.onLog !== undefined) expectType('onLog', request.onLog, 'function');
  if (request.signal !== undefined && !(request.signal instanceof AbortSignal)) {
    throw new TypeError(
      `Expected \`signal\` to be an AbortSignal, got ${describeValue(request.signal)}`,
    );
  }
}
