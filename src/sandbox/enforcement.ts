/** What a launch really enforces: the `enforcement` of every result and span. */
import { bwrapNamespaces } from './bwrap-args.js';
import type { ExecutionCgroups } from './cgroup.js';
import type { SandboxCapabilities } from './detect.js';
import type { Enforcement, LaunchRequest, ToolView } from './types.js';

export function enforcement(
  request: LaunchRequest,
  view: ToolView,
  caps: SandboxCapabilities,
  cgroups: ExecutionCgroups | undefined,
  userNamespace: boolean,
  rlimits: boolean,
): Enforcement {
  const { limits, permissions } = request;
  const sandboxed = request.mode !== 'none';
  const mechanism = cgroups?.mechanism ?? 'none';
  return {
    sandbox: sandboxed ? 'bwrap' : 'none',
    namespaces: sandboxed ? bwrapNamespaces({ permissions, userNamespace }) : [],
    filesystem: !sandboxed ? 'host' : view.kind === 'bundle' ? 'bundle' : 'directory (masked)',
    network:
      !sandboxed || permissions.net === true
        ? 'host'
        : Array.isArray(permissions.net)
          ? 'allow-list'
          : 'isolated',
    ...(sandboxed && Array.isArray(permissions.net) ? { networkAllowList: permissions.net } : {}),
    environment: 'cleared',
    subprocesses: sandboxed && !permissions.run ? 'denied' : 'allowed',
    memory:
      cgroups !== undefined && caps.cgroup.memory
        ? { mechanism, limitMb: limits.memoryMb }
        : { mechanism: 'none' },
    processes:
      cgroups !== undefined && caps.cgroup.pids
        ? { mechanism, limit: limits.maxProcesses }
        : { mechanism: 'none' },
    cpu:
      rlimits && limits.cpuSeconds !== undefined
        ? { mechanism: 'rlimit', seconds: limits.cpuSeconds }
        : { mechanism: 'none' },
    fileSize: rlimits
      ? { mechanism: 'rlimit', limitMb: limits.maxFileSizeMb }
      : { mechanism: 'none' },
    tmp: !sandboxed
      ? { mechanism: 'none' }
      : caps.bwrap.tmpfsSize
        ? { mechanism: 'tmpfs', limitMb: limits.tmpMb }
        : { mechanism: 'tmpfs' },
    kill: sandboxed ? 'pid-namespace' : 'process-group',
  };
}
