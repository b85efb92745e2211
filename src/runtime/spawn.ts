import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { LaunchPlan } from '../sandbox/types.js';
import type { Launcher } from './launcher-client.js';
import type { ProcessEnd } from './process-end.js';

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
 * Starts a launch plan: its cgroups and temp dir are made first (LaunchPlan.materialize), then
 * the launcher starts the command and applies its confinement. A call waits for the launcher to
 * be up; only where it cannot run here does Node spawn the plan's fallback, a prologue that
 * applies the same confinement (sandbox/prologue.ts). The process leads its own process group,
 * so the whole group can be killed; stdio is [request, log, log, result, ...plan.extraFiles].
 * This is the only place toolcage starts a process for a tool.
 */
export async function spawnPlan(plan: LaunchPlan, launcher?: Launcher): Promise<SpawnedProcess> {
  const viaLauncher = launcher !== undefined && (launcher.ready || (await launcher.whenReady()));
  if (!viaLauncher) fallbackOf(plan);
  try {
    plan.materialize();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`sandbox setup failed: ${message}`, { cause: error });
  }
  const started = viaLauncher ? await launcher.spawn(plan) : undefined;
  // Undefined: the launcher is not running, or failed between its answer and this launch.
  if (started === undefined) return spawnDirect(plan, fallbackOf(plan));
  const [stdin, stdout, stderr, result] = started.stdio;
  const closed = Promise.all([started.exited, ...started.stdio.map(closeOf)]).then(() => {});
  return {
    pid: started.pid,
    stdin,
    stdout,
    stderr,
    result,
    exited: started.exited,
    closed,
    spawnError: () => undefined,
  };
}

// The command Node spawns without the launcher, or the error that says why there is none.
function fallbackOf(plan: LaunchPlan): { file: string; args: readonly string[] } {
  const { fallback } = plan;
  if ('unavailable' in fallback) {
    throw new Error(
      `sandbox setup failed: the toolcage launcher is not running, and ${fallback.unavailable}`,
    );
  }
  return fallback;
}

function spawnDirect(
  plan: LaunchPlan,
  command: { file: string; args: readonly string[] },
): SpawnedProcess {
  const extraFds = (plan.extraFiles ?? []).map((file) => openSync(file, 'r'));
  let child: ChildProcess;
  try {
    child = spawn(command.file, [...command.args], {
      cwd: plan.cwd,
      env: { ...plan.env },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', ...extraFds],
      windowsHide: true,
    });
  } finally {
    // The child has its own copies once spawn() has returned.
    for (const fd of extraFds) closeSync(fd);
  }
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

function closeOf(stream: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
}
