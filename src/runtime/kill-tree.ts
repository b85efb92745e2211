/**
 * Kills the process group led by `pid` (every tool process is spawned as a group leader).
 * A setsid'd grandchild leaves the group: the sandbox's PID namespace and cgroup catch those.
 * Never throws: a group that is already gone is the goal reached.
 */
export function killProcessGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone. EPERM cannot happen for a group we started.
  }
}
