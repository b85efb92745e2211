/**
 * What a sandboxed launch can enforce on this machine, decided before anything is made: a
 * SandboxRefusal (with its remedy) for what cannot be enforced at all, else how each limit is
 * enforced — by a cgroup, or where none can be written, by an rlimit (memory: RLIMIT_DATA;
 * processes with `run`: RLIMIT_NPROC, set by the launcher inside the user namespace; without
 * `run`, seccomp forbids new processes anyway). `requireCgroups` refuses instead.
 */
import { describeBlockers, userNamespaceBlockers } from './blockers.js';
import type { SandboxCapabilities } from './detect.js';
import type { SandboxIdentity } from './identity.js';
import { unreachable, type Reach } from './reach.js';
import { SandboxRefusal } from './refusal.js';
import type { LaunchRequest } from './types.js';

/** How the launch enforces memory and processes. */
export interface LimitMeans {
  readonly memory: 'cgroup' | 'rlimit-data';
  readonly processes: 'cgroup' | 'rlimit-nproc' | 'seccomp';
}

/**
 * Bun aborts at start under an RLIMIT_DATA of 256 MiB and starts under 320 MiB (a tool then gets
 * about half the limit as heap): the rlimit is never set lower (docs/performance.md, "Bun under
 * RLIMIT_DATA").
 */
export const MIN_DATA_LIMIT_MB = 320;

const refuse = (what: string, reason: string): never => {
  throw new SandboxRefusal(what, reason);
};

/** Refuses what cannot be enforced; else says how memory and processes are. */
export function enforceable(
  request: LaunchRequest,
  caps: SandboxCapabilities,
  policy: { readonly requireCgroups: boolean },
): LimitMeans {
  const { limits, permissions } = request;
  if (caps.bwrap.path === undefined) {
    refuse(
      'its permissions',
      "bubblewrap (bwrap) is not installed (`apt-get install bubblewrap`), or choose `sandbox: 'none'` explicitly",
    );
  }
  if (!caps.bwrap.works) {
    const blockers = describeBlockers(userNamespaceBlockers());
    refuse(
      'its permissions',
      `bubblewrap does not work here: ${caps.bwrap.detail}${blockers === '' ? '' : `; ${blockers}`}`,
    );
  }
  if (!permissions.run && caps.seccomp.arch === undefined)
    refuse('`run: false`', caps.seccomp.detail);
  if (caps.shell.path === undefined) refuse('its limits', '/bin/sh is missing');
  const remedy = `${caps.cgroup.detail}; delegate a cgroup subtree to this user (see "Running as a service" in the README), or drop requireCgroups to use rlimits`;
  if (!caps.cgroup.memory && policy.requireCgroups) {
    refuse(`\`limits.memoryMb\` (${limits.memoryMb}) by a cgroup`, remedy);
  }
  if (!caps.cgroup.pids && policy.requireCgroups) {
    refuse(`\`limits.maxProcesses\` (${limits.maxProcesses}) by a cgroup`, remedy);
  }
  // No other mechanism bounds the CPUs of a whole execution: an explicit quota needs the cgroup.
  if (limits.cpus !== undefined && !caps.cgroup.cpu) {
    refuse(
      `\`limits.cpus\` (${limits.cpus})`,
      `no writable cpu cgroup controller (${caps.cgroup.detail}); delegate the cpu controller too, or drop limits.cpus`,
    );
  }
  return {
    memory: caps.cgroup.memory ? 'cgroup' : 'rlimit-data',
    processes: caps.cgroup.pids ? 'cgroup' : permissions.run ? 'rlimit-nproc' : 'seccomp',
  };
}

/**
 * Refuses a launch whose files or grants the sandbox user cannot reach: bwrap, started as that
 * user, would fail to bind them (or a tool could not use a grant it was given). `statics` caches
 * the answers for the files every launch binds (Bun, the worker).
 */
export function refuseUnreachable(
  request: LaunchRequest,
  identity: SandboxIdentity,
  statics: Map<string, string | undefined>,
): void {
  if (identity.uid === 0) return;
  const check = (path: string, need: Reach, what: string, cache: boolean): void => {
    const key = `${need}:${path}`;
    const why = cache && statics.has(key) ? statics.get(key) : unreachable(path, identity, need);
    if (cache) statics.set(key, why);
    if (why !== undefined) {
      refuse(
        what,
        `the sandbox runs as ${identity.name} (uid ${identity.uid}), and ${why}: make it ${need === 'write' ? 'writable' : 'readable'} by that user (chmod/chgrp, or choose another sandboxUser); see "Which user runs a sandbox" in the README`,
      );
    }
  };
  check(request.bunPath, 'exec', 'its runtime (the Bun binary)', true);
  for (const file of request.runtimeFiles) check(file, 'read', 'its runtime files', true);
  const view = request.view;
  if (view === undefined || view.kind === 'bundle') {
    const source = view?.source ?? request.toolPath;
    check(source, 'read', `its tool module ${source}`, false);
  } else {
    check(view.dir, 'read', `its tool directory ${view.dir}`, false);
  }
  const { read, write } = request.permissions;
  for (const path of read) check(path, 'read', `its read grant \`${path}\``, false);
  for (const path of write) check(path, 'write', `its write grant \`${path}\``, false);
}
