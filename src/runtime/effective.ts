import type { LimitName } from '../errors/tool-execution-error.js';
import { explainFailure as explainThroughSandbox } from '../sandbox/classify-hints.js';
import { resolveLimits } from '../sandbox/limits.js';
import { resolvePermissions } from '../sandbox/permissions.js';
import type {
  Enforcement,
  LimitReport,
  ResolvedLimits,
  ResolvedPermissions,
} from '../sandbox/types.js';
import type { ExecuteRequest, NormalizedOptions } from './options.js';
import type { ResolvedTool } from './resolve-tool.js';
import type { ProcessEnd } from './spawn.js';
import type { WorkerMessage } from './worker/protocol.js';

/**
 * The permissions and limits one call runs with: runtime defaults, overridden by the tool's
 * definition, narrowed (never widened) by the call. Throws `invalid_request` on widening.
 */
export function effectivePermissions(
  options: NormalizedOptions,
  tool: ResolvedTool,
  request: Pick<ExecuteRequest, 'permissions'>,
): ResolvedPermissions {
  return resolvePermissions(
    tool.definition?.permissions,
    options.defaultPermissions,
    request.permissions,
    {
      baseDir: options.rootDir,
      toolId: tool.toolId,
    },
  );
}

const toolProfiles = new WeakMap<
  ResolvedTool,
  { readonly permissions: ResolvedPermissions; readonly limits: ResolvedLimits }
>();

/**
 * {@link effectivePermissions} and {@link effectiveLimits} of one call. A call that narrows
 * nothing gets its tool's own, computed once per resolved tool (ToolResolver hands out the same
 * object for a registered tool); the results are shared and never mutated.
 */
export function effectiveProfile(
  options: NormalizedOptions,
  tool: ResolvedTool,
  request: Pick<ExecuteRequest, 'permissions' | 'limits'>,
): { readonly permissions: ResolvedPermissions; readonly limits: ResolvedLimits } {
  const resolve = (call: Pick<ExecuteRequest, 'permissions' | 'limits'>) => ({
    permissions: effectivePermissions(options, tool, call),
    limits: effectiveLimits(options, tool, call),
  });
  if (request.permissions !== undefined || request.limits !== undefined) return resolve(request);
  let profile = toolProfiles.get(tool);
  if (profile === undefined) {
    profile = resolve({});
    toolProfiles.set(tool, profile);
  }
  return profile;
}

/** Limits: defaults, the tool's, then the call's (which can only lower them). */
export function effectiveLimits(
  options: NormalizedOptions,
  tool: ResolvedTool,
  request: Pick<ExecuteRequest, 'limits'>,
): ResolvedLimits {
  return resolveLimits(tool.definition?.limits, options.defaultLimits, request.limits);
}

/** What the sandbox can tell about a failure: a denied operation, or the limit that was hit. */
export function explainFailure(
  message: WorkerMessage | 'invalid' | undefined,
  end: ProcessEnd,
  report: LimitReport,
  permissions: ResolvedPermissions,
  limits: ResolvedLimits,
  enforcement: Enforcement,
  visible: readonly string[],
): {
  denied: string | undefined;
  grantHint: string | undefined;
  limitHit: LimitName | undefined;
  limitDetail: string | undefined;
} {
  return explainThroughSandbox(message, end, report, permissions, enforcement, { visible, limits });
}
