// TEMPORARY adapter: replaced by the sandbox's permission model.
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
import type { LimitName } from '../errors/tool-execution-error.js';

export function effectivePermissions(
  options: NormalizedOptions,
  tool: ResolvedTool,
  request: Pick<ExecuteRequest, 'permissions'>,
): ResolvedPermissions {
  const p = {
    ...options.defaultPermissions,
    ...tool.definition?.permissions,
    ...request.permissions,
  };
  return {
    read: p.read ?? [],
    write: p.write ?? [],
    net: p.net ?? false,
    env: p.env ?? [],
    run: p.run ?? false,
  };
}
export function effectiveLimits(
  options: NormalizedOptions,
  tool: ResolvedTool,
  request: Pick<ExecuteRequest, 'limits'>,
): ResolvedLimits {
  const l = { ...options.defaultLimits, ...tool.definition?.limits, ...request.limits };
  return {
    memoryMb: l.memoryMb ?? 512,
    cpuSeconds: l.cpuSeconds,
    maxProcesses: l.maxProcesses ?? 256,
    maxFileSizeMb: l.maxFileSizeMb ?? 64,
    maxOutputBytes: l.maxOutputBytes ?? 10 * 1024 * 1024,
    maxLogBytes: l.maxLogBytes ?? 1024 * 1024,
  };
}
export function permissionFlags(p: ResolvedPermissions): string[] {
  return [...p.read.map((r) => `--allow-read=${r}`), ...(p.net ? ['--allow-net'] : [])];
}
export function explainFailure(
  _m: WorkerMessage | 'invalid' | undefined,
  _e: ProcessEnd,
  _r: LimitReport,
  _p: ResolvedPermissions,
  _en: Enforcement,
): {
  denied: string | undefined;
  limitHit: LimitName | undefined;
  limitDetail: string | undefined;
} {
  return { denied: undefined, limitHit: undefined, limitDetail: undefined };
}
