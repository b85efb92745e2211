/**
 * A prepared launch as the runtime holds it (LaunchPlan): the command, and around it the
 * execution's kills, what its limits saw, and its disposal in the background.
 */
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { Background } from './background.js';
import { removeTree } from './remove-tree.js';
import type { Enforcement, LaunchPlan, LimitReport } from './types.js';
import type { Workspace } from './workspace.js';

const NO_LIMITS: LimitReport = { memoryExceeded: false, processesExceeded: false };

// bwrap's own processes (outside and as the namespace's init): a SIGTERM to either ends the
// whole sandbox at once (--die-with-parent), which would cut the tool's grace period short.
function isBwrapProcess(pid: number): boolean {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`)) === 'bwrap';
  } catch {
    return true; // Gone, or not ours to read: do not signal it.
  }
}

export function plan(parts: {
  command: { file: string; args: string[] };
  confinement: LaunchPlan['confinement'];
  fallback: LaunchPlan['fallback'];
  env: Record<string, string>;
  cwd: string;
  workspace: Workspace;
  /** Where dispose() leaves what it removes (the sandbox's, see background.ts). */
  background: Background;
  seccompFile: string | undefined;
  enforcement: Enforcement;
  /** `limits.cpuSeconds` when the execution's processes together are bounded (LaunchPlan.cpuBudget). */
  cpuSeconds?: number | undefined;
}): LaunchPlan {
  const { cgroups, root, session } = parts.workspace;
  let disposed: Promise<void> | undefined;
  return {
    file: parts.command.file,
    args: parts.command.args,
    confinement: parts.confinement,
    fallback: parts.fallback,
    env: parts.env,
    cwd: parts.cwd,
    enforcement: parts.enforcement,
    ...(parts.seccompFile === undefined ? {} : { extraFiles: [parts.seccompFile] }),
    materialize: () => parts.workspace.materialize(),
    terminate() {
      if (disposed === undefined) cgroups?.signal('SIGTERM', isBwrapProcess);
    },
    killAll() {
      if (disposed === undefined) cgroups?.kill();
    },
    killsAll: cgroups !== undefined,
    ...(cgroups === undefined || parts.cpuSeconds === undefined
      ? {}
      : { cpuBudget: { seconds: parts.cpuSeconds, used: () => cgroups.cpuSeconds() } }),
    inspect() {
      const report = cgroups?.inspect() ?? NO_LIMITS;
      return Promise.resolve(
        session === undefined ? report : { ...report, network: session.activity() },
      );
    },
    ...(session === undefined ? {} : { networkActivity: () => session.activity() }),
    dispose() {
      if (disposed === undefined) {
        // The directories go in the background (see background.ts): the cgroups as soon as the
        // kernel lets them (destroyInBackground() kills whatever is still in them), the temp dir too.
        cgroups?.destroyInBackground(parts.background);
        if (root !== undefined) parts.background.add(removeTree(root));
        // Every connection of the execution ends now (the call is synchronous up to its first
        // await); the socket's directory goes with the rest.
        if (session !== undefined) parts.background.add(session.close());
        parts.workspace.over();
        disposed = Promise.resolve();
      }
      return disposed;
    },
  };
}
