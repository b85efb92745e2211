import { createSandbox } from '../src/sandbox/sandbox.js';
import type { LaunchPlan, Sandbox } from '../src/sandbox/types.js';

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
