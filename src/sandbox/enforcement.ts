/** What a launch really enforces: the `enforcement` of every result and span. */
import { bwrapNamespaces } from './bwrap-args.js';
import type { ExecutionCgroups } from './cgroup.js';
import type { SandboxCapabilities } from './detect.js';
import type { LimitMeans } from './enforceable.js';
import type { SandboxIdentity } from './identity.js';
import type {
  Enforcement,
  LaunchRequest,
  ResolvedLimits,
  ResolvedPermissions,
  ToolView,
} from './types.js';

/**
 * How the launch was planned, as far as the report needs it. Its rlimits are always set: the
 * launcher applies them, or the fallback's prologue, or the launch is refused (spawn.ts).
 */
export interface EnforcementFacts {
  readonly cgroups: ExecutionCgroups | undefined;
  readonly userNamespace: boolean;
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
  const { cgroups } = facts;
  return {
    sandbox: sandboxed ? 'bwrap' : 'none',
    namespaces: sandboxed
      ? bwrapNamespaces({ permissions, userNamespace: facts.userNamespace })
      : [],
    filesystem: !sandboxed ? 'host' : view.kind === 'bundle' ? 'bundle' : 'directory (masked)',
    network: networkOf(sandboxed, permissions),
    ...(sandboxed && Array.isArray(permissions.net) ? { networkAllowList: permissions.net } : {}),
    environment: 'cleared',
    subprocesses: sandboxed && !permissions.run ? 'denied' : 'allowed',
    memory: memoryOf(limits, caps, facts),
    processes: processesOf(sandboxed, limits, caps, facts),
    cpu: cpuOf(limits, permissions, facts),
    ...(cgroups !== undefined && limits.cpus !== undefined && caps.cgroup.cpu
      ? { cpus: { mechanism: cgroups.mechanism, cpus: limits.cpus } }
      : {}),
    fileSize: { mechanism: 'rlimit', limitMb: limits.maxFileSizeMb },
    openFiles: { mechanism: 'rlimit', limit: limits.maxOpenFiles },
    tmp: tmpOf(sandboxed, limits, caps),
    kill: sandboxed ? 'pid-namespace' : 'process-group',
    user: userOf(facts.identity),
  };
}

function networkOf(sandboxed: boolean, permissions: ResolvedPermissions): Enforcement['network'] {
  if (!sandboxed || permissions.net === true) return 'host';
  return Array.isArray(permissions.net) ? 'allow-list' : 'isolated';
}

// The memory cgroup, else RLIMIT_DATA where it bounds memory, else nothing.
function memoryOf(
  limits: ResolvedLimits,
  caps: SandboxCapabilities,
  facts: EnforcementFacts,
): Enforcement['memory'] {
  if (facts.cgroups !== undefined && caps.cgroup.memory) {
    return { mechanism: facts.cgroups.mechanism, limitMb: limits.memoryMb };
  }
  if (facts.dataLimitMb !== undefined) {
    return { mechanism: 'rlimit-data', limitMb: facts.dataLimitMb };
  }
  return { mechanism: 'none' };
}

// The pids cgroup, else (sandboxed) the means chosen for processes: RLIMIT_NPROC or seccomp.
function processesOf(
  sandboxed: boolean,
  limits: ResolvedLimits,
  caps: SandboxCapabilities,
  facts: EnforcementFacts,
): Enforcement['processes'] {
  if (facts.cgroups !== undefined && caps.cgroup.pids) {
    return { mechanism: facts.cgroups.mechanism, limit: limits.maxProcesses };
  }
  if (sandboxed && facts.means.processes === 'rlimit-nproc') {
    return { mechanism: 'rlimit-nproc', limit: limits.maxProcesses };
  }
  if (sandboxed && facts.means.processes === 'seccomp') return { mechanism: 'seccomp' };
  return { mechanism: 'none' };
}

// RLIMIT_CPU per process; with `run` and a cgroup, toolcage also sums the execution's time.
function cpuOf(
  limits: ResolvedLimits,
  permissions: ResolvedPermissions,
  facts: EnforcementFacts,
): Enforcement['cpu'] {
  if (limits.cpuSeconds === undefined) return { mechanism: 'none' };
  return {
    mechanism: 'rlimit',
    seconds: limits.cpuSeconds,
    ...(facts.cgroups !== undefined && permissions.run ? { execution: true } : {}),
  };
}

// The private /tmp: a tmpfs under bwrap, sized when bubblewrap can size one.
function tmpOf(
  sandboxed: boolean,
  limits: ResolvedLimits,
  caps: SandboxCapabilities,
): Enforcement['tmp'] {
  if (!sandboxed) return { mechanism: 'none' };
  return caps.bwrap.tmpfsSize
    ? { mechanism: 'tmpfs', limitMb: limits.tmpMb }
    : { mechanism: 'tmpfs' };
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
