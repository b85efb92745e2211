/**
 * How toolcage ends a run it decided to end — the deadline, a cancel, the close, the output cap —
 * and the reason it recorded first (runProcess's, see run-process.ts).
 */
import type { LaunchPlan } from '../sandbox/types.js';
import type { EndReason } from './classify.js';
import { killProcessGroup } from './kill-tree.js';
import type { SpawnedProcess } from './spawn.js';

/** How toolcage ends a run it decided to end, and the reason it recorded first. */
export class Stopper {
  /** Why toolcage ended the run (first reason wins); undefined when it ran to its own end. */
  reason: EndReason | undefined;
  readonly #child: SpawnedProcess;
  readonly #plan: LaunchPlan;
  readonly #killGraceMs: number;
  #graceTimer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;

  constructor(child: SpawnedProcess, plan: LaunchPlan, killGraceMs: number) {
    this.#child = child;
    this.#plan = plan;
    this.#killGraceMs = killGraceMs;
  }

  /**
   * The deadline, a cancel or the close. The tool's context.signal aborts first (the `abort`
   * line); then the tree is killed, after the grace period with a SIGTERM to the tool's own
   * processes at its start.
   */
  abort(reason: EndReason): void {
    this.reason ??= reason;
    this.#child.stdin.write('abort\n');
    if (this.#killGraceMs > 0) {
      this.#plan.terminate();
      // Unsandboxed, the tool leads its own process group. Under bwrap the group is bwrap's,
      // and a SIGTERM there ends the sandbox at once: plan.terminate() reaches the tool instead.
      if (this.#plan.enforcement.kill === 'process-group')
        killProcessGroup(this.#child.pid, 'SIGTERM');
      this.#graceTimer = setTimeout(() => this.#killEverything(), this.#killGraceMs);
    } else {
      this.#killEverything();
    }
  }

  /** The result crossed the output cap: killed at once. */
  overflow(): void {
    this.reason ??= 'output_limit';
    this.#killEverything();
  }

  /**
   * After the tool's own process exited, whatever it left running (grandchildren, a sandbox
   * still tearing down) goes: through its cgroup alone when it has one (a process-group kill
   * that finds nothing throws ESRCH inside Node, a cost on the settle path).
   */
  killLeftovers(): void {
    if (this.#plan.killsAll) this.#plan.killAll();
    else this.#killEverything();
  }

  /** Kills the whole tree now, recording no reason (a run that settled on its result, see teardown.ts). */
  kill(): void {
    this.#killEverything();
  }

  /** Kills the whole tree `ms` from now (at once when ≤ 0), recording no reason; dispose() cancels it. */
  killIn(ms: number): void {
    if (ms <= 0) this.#killEverything();
    else this.#killTimer ??= setTimeout(() => this.#killEverything(), ms);
  }

  dispose(): void {
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer);
  }

  #killEverything(): void {
    killProcessGroup(this.#child.pid, 'SIGKILL');
    this.#plan.killAll();
  }
}
