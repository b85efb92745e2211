/** What a launch really enforces: the `enforcement` of every result and span. */
import { bwrapNamespaces } from './bwrap-args.js';
import type { ExecutionCgroups } from './cgroup.js';
import type { SandboxCapabilities } from './detect.js';
import type { LimitMeans } from './enforceable.js';
import type { SandboxIdentity } from './identity.js';
import type { Enforcement, LaunchRequest, ToolView } from './types.js';

/** How the launch was planned, as far as the report needs it. */
export interface EnforcementFacts {
  readonly cgroups: ExecutionCgroups | undefined;
  readonly userNamespace: boolean;
  /** The rlimits are set (a shell or the launcher applies them). */
  readonly rlimits: boolean;
  readonly means: LimitMeans;
  /** RLIMIT_DATA in MiB where it bounds memory. */
  readonly dataLimitMb: number | undefined;
  /** The sandbox's host user; undefined unsandboxed (the manager's own). */
  readonly identity: SandboxIdentity | undefined;
}

export function enforcement(
  request: LaunchRequest,
  view: ToolView,
  caps: SandboxCapabilities,
  facts: EnforcementFacts,
): Enforcement {
  const { limits, permissions } = request;
  const sandboxed = request.mode !== 'none';
  const { cgroups, rlimits, means } = facts;
  const mechanism = cgroups?.mechanism ?? 'none';
  return {
    sandbox: sandboxed ? 'bwrap' : 'none',
    namespaces: sandboxed
      ? bwrapNamespaces({ permissions, userNamespace: facts.userNamespace })
      : [],
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
        : facts.dataLimitMb !== undefined && rlimits
          ? { mechanism: 'rlimit-data', limitMb: facts.dataLimitMb }
          : { mechanism: 'none' },
    processes:
      cgroups !== undefined && caps.cgroup.pids
        ? { mechanism, limit: limits.maxProcesses }
        : sandboxed && means.processes === 'rlimit-nproc'
          ? { mechanism: 'rlimit-nproc', limit: limits.maxProcesses }
          : sandboxed && means.processes === 'seccomp'
            ? { mechanism: 'seccomp' }
            : { mechanism: 'none' },
    cpu:
      rlimits && limits.cpuSeconds !== undefined
        ? {
            mechanism: 'rlimit',
            seconds: limits.cpuSeconds,
            ...(cgroups !== undefined && permissions.run ? { execution: true } : {}),
          }
        : { mechanism: 'none' },
    ...(cgroups !== undefined && limits.cpus !== undefined && caps.cgroup.cpu
      ? { cpus: { mechanism: cgroups.mechanism, cpus: limits.cpus } }
      : {}),
    fileSize: rlimits
      ? { mechanism: 'rlimit', limitMb: limits.maxFileSizeMb }
      : { mechanism: 'none' },
    openFiles: rlimits
      ? { mechanism: 'rlimit', limit: limits.maxOpenFiles }
      : { mechanism: 'none' },
    tmp: !sandboxed
      ? { mechanism: 'none' }
      : caps.bwrap.tmpfsSize
        ? { mechanism: 'tmpfs', limitMb: limits.tmpMb }
        : { mechanism: 'tmpfs' },
    kill: sandboxed ? 'pid-namespace' : 'process-group',
    user: userOf(facts.identity),
  };
}

// The host user the tool ran as: the sandbox user, or unsandboxed the manager's own.
function userOf(identity: SandboxIdentity | undefined): Enforcement['user'] {
  if (identity !== undefined) {
    return {
      uid: identity.uid,
      gid: identity.gid,
      name: identity.name,
      hostRoot: identity.hostRoot,
    };
  }
  const uid = process.getuid?.() ?? 0;
  return { uid, gid: process.getgid?.() ?? 0, name: String(uid), hostRoot: uid === 0 };
}
