import { openSync } from 'node:fs';
import type { LaunchPlan, Sandbox } from '../src/sandbox/types.js';
import type { BareCommand } from './bare.js';
import { createSandbox } from './toolcage.js';

/**
 * The sandbox the runtime uses, for the bare `bwrap … bun` baseline: the baseline takes its argv
 * from the sandbox's own LaunchPlan for the same tool, with the bare script in place of the
 * worker, so its flags really are the runtime's.
 */
export function loadSandbox(): Sandbox {
  return createSandbox();
}

/** Whether a plan really runs under bubblewrap. */
export function isBwrap(plan: LaunchPlan): boolean {
  return plan.enforcement.sandbox === 'bwrap';
}

/**
 * A plan's command without what confines it (its cgroups, rlimits): its bwrap command, or Bun
 * itself when unsandboxed. The plan must be materialised (its temp dir made) before this runs;
 * the caller closes `extraFds`.
 */
export function withoutPrologue(plan: LaunchPlan): BareCommand & { readonly extraFds: number[] } {
  const extraFds = (plan.extraFiles ?? []).map((file) => openSync(file, 'r'));
  return { file: plan.file, args: plan.args, env: plan.env, cwd: plan.cwd, extraFds };
}
