import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { LaunchPlan } from '../sandbox/types.js';
import { killProcessGroup } from './kill-tree.js';
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
 * Spawns a launch plan — through the launcher when it can take it (see launcher/main.ts), else
 * directly — and materialises it while the process starts (a failure there is the spawn's
 * error, and the process is killed). The process leads its own process group, so the whole group
 * can be killed; stdio is [request, log, log, result, ...plan.extraFiles].
 * This is the only place toolcage starts a process for a tool.
 */
export async function spawnPlan(plan: LaunchPlan, launcher?: Launcher): Promise<SpawnedProcess> {
  // A launch only the launcher can start as planned (LauncherLaunch.required) waits for it.
  if (plan.byLauncher?.required === true && launcher?.ready !== true) {
    if (launcher === undefined || !(await launcher.whenReady())) {
      throw new Error(
        'sandbox setup failed: this launch needs the toolcage launcher (an rlimit it alone sets, or a switch of user without setpriv), and it is not running',
      );
    }
  }
  // The launcher applies the limits itself (LaunchPlan.byLauncher): the cgroups and temp dir must
  // be there first. Node's spawn cannot (see launcher/main.ts): it spawns the prologue.
  const byLauncher = launcher?.ready === true ? plan.byLauncher : undefined;
  if (byLauncher !== undefined) {
    const made = materialize(plan);
    if ('error' in made) throw made.error;
  }
  const viaLauncher = launcher?.spawn(plan, byLauncher);
  if (viaLauncher === undefined) return spawnDirect(plan);
  // Made while the launcher starts the prologue, which waits for its `go`.
  const setup = byLauncher === undefined ? materialize(plan) : undefined;
  const started = await viaLauncher;
  const [stdin, stdout, stderr, result] = started.stdio;
  const setupError = setup === undefined ? undefined : goOrKill(setup, started.pid, stdin);
  const closed = Promise.all([started.exited, ...started.stdio.map(closeOf)]).then(() => {});
  return {
    pid: started.pid,
    stdin,
    stdout,
    stderr,
    result,
    exited: started.exited,
    closed,
    spawnError: () => setupError,
  };
}

function spawnDirect(plan: LaunchPlan): SpawnedProcess {
  const extraFds = (plan.extraFiles ?? []).map((file) => openSync(file, 'r'));
  let child: ChildProcess;
  try {
    child = spawn(plan.file, [...plan.args], {
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
  if (child.pid !== undefined) spawnError = goOrKill(materialize(plan), child.pid, child.stdin!);
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

type Setup = { readonly go: string } | { readonly error: Error };

// What the process needs only once it runs (temp dir, cgroups), made while it starts: it waits
// for the `go` line (see LaunchPlan.materialize).
function materialize(plan: LaunchPlan): Setup {
  try {
    return { go: plan.materialize() };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { error: new Error(`sandbox setup failed: ${message}`, { cause: error }) };
  }
}

// Lets the started process go on (its `go` line), or kills it when its setup failed; returns
// that failure, the spawn's error.
function goOrKill(setup: Setup, pid: number, stdin: Writable): Error | undefined {
  if ('error' in setup) {
    killProcessGroup(pid, 'SIGKILL');
    return setup.error;
  }
  if (setup.go !== '') stdin.write(setup.go);
  return undefined;
}

function closeOf(stream: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
}
