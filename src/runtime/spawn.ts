import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { LaunchPlan } from '../sandbox/types.js';
import { killProcessGroup } from './kill-tree.js';

/** How a process ended. */
export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started tool process: its streams, and a promise of how it ended. */
export interface SpawnedProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** fd 3 of the child: the result channel. */
  readonly result: Readable;
  /** Settles when the process itself has exited; never rejects. */
  readonly exited: Promise<ProcessEnd>;
  /** Settles when it has exited and every stdio stream is closed (no grandchild holds one). */
  readonly closed: Promise<void>;
  /** The spawn error (binary missing, exec failure), if any. */
  readonly spawnError: () => Error | undefined;
}

/**
 * Spawns a launch plan and materialises it (a failure there is the spawn's error, and the
 * process is killed). The child leads its own process group (`detached`) so the whole group
 * can be killed; stdio is [request, log, log, result, ...plan.extraFds].
 * This is the only place toolcage starts a process for a tool.
 */
export function spawnPlan(plan: LaunchPlan): SpawnedProcess {
  const child: ChildProcess = spawn(plan.file, [...plan.args], {
    cwd: plan.cwd,
    env: { ...plan.env },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe', ...(plan.extraFds ?? [])],
    windowsHide: true,
  });
  let spawnError: Error | undefined;
  const exited = new Promise<ProcessEnd>((resolve) => {
    child.once('error', (error) => {
      spawnError = error;
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const closed = new Promise<void>((resolve) => {
    child.once('error', () => resolve());
    child.once('close', () => resolve());
  });
  // A tool that closes stdin early makes our writes fail with EPIPE: that is not our error.
  child.stdin?.on('error', () => {});
  // What the process needs only once it runs (temp dir, cgroups) is made now, while it starts;
  // it waits for the `go` line (see LaunchPlan.materialize).
  if (child.pid !== undefined) {
    try {
      const go = plan.materialize();
      if (go !== '') child.stdin?.write(go);
    } catch (error) {
      spawnError = new Error(
        `sandbox setup failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
      killProcessGroup(child.pid, 'SIGKILL');
    }
  }
  const result = child.stdio[3] as Readable;
  return {
    pid: child.pid,
    stdin: child.stdin!,
    stdout: child.stdout!,
    stderr: child.stderr!,
    result,
    exited,
    closed,
    spawnError: () => spawnError,
  };
}
