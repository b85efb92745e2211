import { callLimits, toolLimits } from '../sandbox/limits.js';
import { callPermissions, toolPermissions } from '../sandbox/permissions.js';
import type { ResolvedLimits, ResolvedPermissions } from '../sandbox/types.js';
import type { ExecuteRequest, NormalizedOptions } from './runtime-options.js';
import type { ResolvedTool } from './resolve-tool.js';

/** The permissions and limits one call runs with. */
export interface Profile {
  readonly permissions: ResolvedPermissions;
  readonly limits: ResolvedLimits;
}

const toolProfiles = new WeakMap<ResolvedTool, Profile>();

/**
 * The permissions and limits of one call: the runtime defaults overridden by the tool's
 * definition — computed once per resolved tool (ToolResolver hands out the same object for a
 * registered tool; the result is shared and never mutated) — then narrowed (never widened) by
 * the call's. Throws `invalid_request` on widening.
 */
export function effectiveProfile(
  options: NormalizedOptions,
  tool: ResolvedTool,
  request: Pick<ExecuteRequest, 'permissions' | 'limits'>,
): Profile {
  let base = toolProfiles.get(tool);
  if (base === undefined) {
    const { definition } = tool;
    base = {
      permissions: toolPermissions(
        definition?.permissions,
        options.defaultPermissions,
        options.rootDir,
      ),
      limits: toolLimits(definition?.limits, options.defaultLimits),
    };
    toolProfiles.set(tool, base);
  }
  const { permissions, limits } = request;
  if (permissions === undefined && limits === undefined) return base;
  return {
    permissions:
      permissions === undefined
        ? base.permissions
        : callPermissions(base.permissions, permissions, {
            baseDir: options.rootDir,
            toolId: tool.toolId,
          }),
    limits: limits === undefined ? base.limits : callLimits(base.limits, limits),
  };
}
