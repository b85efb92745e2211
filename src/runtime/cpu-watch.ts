/**
 * `cpuSeconds` for a whole execution with `run`: RLIMIT_CPU bounds each process (a tool that
 * spread its work over 6 children used 5.1 CPU-s under a limit of 1), so toolcage also sums the
 * CPU time of the execution's processes (LaunchPlan.cpuBudget) a few times a second and ends the
 * run once the sum passes the limit. It may overshoot by what the processes use in one period.
 */
import type { LaunchPlan } from '../sandbox/types.js';

/** How often the sum is read, ms. */
export const CPU_WATCH_MS = 250;

/** Starts watching; returns the function that stops it. */
export function watchCpu(plan: LaunchPlan, onExceeded: () => void): () => void {
  const budget = plan.cpuBudget;
  if (budget === undefined) return () => {};
  const timer = setInterval(() => {
    if (budget.used() <= budget.seconds) return;
    clearInterval(timer);
    onExceeded();
  }, CPU_WATCH_MS);
  return () => clearInterval(timer);
}
