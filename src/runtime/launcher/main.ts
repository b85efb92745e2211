/**
 * The launcher: a long-lived Bun process that starts tool processes for the manager, so that the
 * manager (Node, whose spawn copies its page tables) does not fork itself per execution. Runs
 * inside Bun. Protocol: one JSON object per line (docs/architecture.md, "The launcher's
 * protocol"); each process's four stdio are connections it dials to the manager's Unix socket.
 * It applies a launch's Confinement (sandbox/confinement.ts): the cgroups (cloned into a v2 one; on v1 its
 * spawning thread joins and leaves), the rlimits (prlimit() on the process, or on bwrap's sandbox
 * process held on `--block-fd`), and the sandbox user (`uid`/`gid`). Why and how each is
 * race-free: docs/architecture.md, "The launcher".
 */
import { dialer, O_CLOEXEC, O_RDONLY, pipe } from './libc.js';
import { RlimitError, setRlimits, type RlimitRequest, type User } from './rlimits.js';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

interface Request {
  readonly t: string;
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Opened read-only as fds 4, 5, … (LaunchPlan.extraFiles). */
  readonly files: readonly string[];
  // The limits this launcher applies (Confinement in sandbox/confinement.ts).
  readonly cgroup?: string;
  readonly joins?: readonly {
    readonly controller: string;
    readonly hierarchy: string;
    readonly file: string;
    /** Move the started process in rather than join from this thread (CgroupJoin.move). */
    readonly move?: true;
  }[];
  readonly rlimits?: readonly RlimitRequest[];
  readonly hold?: { readonly infoFd: number; readonly blockFd: number };
  readonly user?: User;
}

const socketPath = process.argv[2];
if (socketPath === undefined) throw new Error('usage: launcher <socket path>');
const dial = dialer(socketPath);

// This process's own cgroup in each v1 hierarchy, by controller: where the spawning thread goes
// back to after a spawn (see "Limits").
const ownCgroups = new Map<string, string>();
for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
  const first = line.indexOf(':');
  const second = line.indexOf(':', first + 1);
  if (first === -1 || second === -1) continue;
  for (const controller of line.slice(first + 1, second).split(',')) {
    ownCgroups.set(controller, line.slice(second + 1));
  }
}

const live = new Map<number, Bun.Subprocess>();

function reply(message: object): void {
  writeSync(1, `${JSON.stringify(message)}\n`);
}

// A launcher that cannot go on ends (the manager starts another).
function fatal(message: string): never {
  reply({ fatal: message });
  return process.exit(1);
}

function failure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Bun.spawn with the child in its cgroups (see "Limits"): cloned into a v2 one, or started from
// this thread while it is in the v1 ones, which it leaves again whatever happens.
function spawnInCgroups(request: Request, stdio: number[]): Bun.Subprocess {
  const joined: NonNullable<Request['joins']>[number][] = [];
  let child: Bun.Subprocess | undefined;
  try {
    for (const join of request.joins ?? []) {
      if (join.move === true) continue;
      writeFileSync(join.file, '0');
      joined.push(join);
    }
    // `uid`/`gid`: not in Bun's types, but honoured (Bun 1.4.5, checked with `id`): setgroups(0),
    // setgid, setuid in the child before its exec.
    const user = request.user === undefined ? {} : { uid: request.user.uid, gid: request.user.gid };
    child = Bun.spawn({
      ...user,
      cmd: [request.file, ...request.args],
      env: request.env,
      cwd: request.cwd,
      // At least the four dialled connections.
      stdio: stdio as [number, number, number, ...number[]],
      detached: true,
      ...(request.cgroup === undefined ? {} : { cgroup: request.cgroup }),
    });
    return child;
  } finally {
    try {
      for (const join of joined) writeFileSync(ownTasks(join), '0');
      for (const join of joined) bringBackThreads(join);
    } catch (error) {
      // Still in the execution's cgroups, this thread would be killed with them: the launch
      // fails, and the launcher with it (the manager starts another).
      if (child !== undefined) killGroup(child.pid);
      reply({ t: request.t, error: `cannot leave the execution's cgroup: ${failure(error)}` });
      process.exit(1);
    }
  }
}

/*
 * Threads of this process that the spawning thread started while it was in an execution's
 * cgroups are there still (a thread starts in its creator's cgroups): they go back now, before
 * the reply. JavaScriptCore starts some helper threads lazily, from the thread that runs the JS
 * that needs them — seen under load: a `JSCWarmUp` thread born
 * inside an execution's cgroups, and the launcher SIGKILLed with that cgroup's members when the
 * execution ended, failing every execution in flight. One read of `tasks` per cgroup on every
 * spawn; moving another thread is the kernel's slow path (the migration lock, see cgroup-v1.ts),
 * paid only when one was left.
 */
function bringBackThreads(join: NonNullable<Request['joins']>[number]): void {
  for (const tid of readFileSync(join.file, 'utf8').split('\n')) {
    // /proc/self/task/<tid> exists only for a thread of this process (not the child, say).
    if (tid !== '' && existsSync(`/proc/self/task/${tid}`)) {
      writeFileSync(ownTasks(join), tid);
    }
  }
}

// The `tasks` file of this process's own cgroup in a join's hierarchy.
function ownTasks(join: NonNullable<Request['joins']>[number]): string {
  const own = (ownCgroups.get(join.controller) ?? '/').replace(/\/$/, '');
  return `${join.hierarchy}${own}/tasks`;
}

// What the launcher applies to the started process itself: the cgroups it is moved into
// (CgroupJoin.move: its own thread stays out of them), then its rlimits.
function confine(request: Request, pid: number): void {
  for (const join of request.joins ?? []) {
    if (join.move === true) writeFileSync(`${dirname(join.file)}/cgroup.procs`, String(pid));
  }
  setRlimits(pid, request.rlimits, request.user, fatal);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

// The process is started: its pid now, its end when it comes. `sandboxFailed`: bwrap ended
// before the tool's process started (see release), which the tool cannot fake: it never ran.
function started(request: Request, child: Bun.Subprocess, sandboxFailed?: string): void {
  reply({ t: request.t, pid: child.pid });
  void child.exited.then(() => {
    reply({ t: request.t, code: child.exitCode, signal: child.signalCode, sandboxFailed });
  });
}

function refuse(request: Request, child: Bun.Subprocess | undefined, error: unknown): void {
  if (child !== undefined) killGroup(child.pid);
  reply({ t: request.t, error: failure(error) });
}

function launch(request: Request): void {
  const fds: number[] = [];
  let hold:
    { info: { read: number; write: number }; block: { read: number; write: number } } | undefined;
  let child: Bun.Subprocess | undefined;
  try {
    for (let fd = 0; fd < 4; fd++) fds.push(dial(`${fd}${request.t}\n`));
    for (const file of request.files) fds.push(openSync(file, O_RDONLY | O_CLOEXEC));
    if (request.hold !== undefined) {
      if (request.hold.infoFd !== fds.length || request.hold.blockFd !== fds.length + 1) {
        throw new Error(
          `the hold descriptors ${JSON.stringify(request.hold)} are not the next ones (${fds.length})`,
        );
      }
      hold = { info: pipe(), block: pipe() };
      fds.push(hold.info.write, hold.block.read);
    }
    child = spawnInCgroups(request, fds);
    const spawned = child;
    live.set(spawned.pid, spawned);
    void spawned.exited.then(() => live.delete(spawned.pid));
    // bwrap: its sandbox's process gets them (below); Bun itself: now.
    if (hold === undefined) confine(request, spawned.pid);
  } catch (error) {
    refuse(request, child, error);
    if (hold !== undefined) {
      closeSync(hold.info.read);
      // As in release(): never an early end of the block fd for a sandbox that may be waiting.
      const { write } = hold.block;
      if (child === undefined) closeSync(write);
      else void child.exited.then(() => closeSync(write));
    }
    return;
  } finally {
    // The child has its copies; the manager holds the other ends.
    for (const fd of fds) closeSync(fd);
  }
  if (hold === undefined) started(request, child);
  else void release(request, child, hold.info.read, hold.block.write);
}

// bwrap's sandbox process: its pid from the info fd (bwrap writes it once it has forked that
// process, then closes it), its rlimits, then the byte it waits for before it forks the tool's.
async function release(
  request: Request,
  child: Bun.Subprocess,
  info: number,
  block: number,
): Promise<void> {
  let released = false;
  try {
    const text = (await Bun.file(info).text()).trim();
    if (text === '') {
      // bwrap ended before it made the sandbox: nothing ran. Its error is on the process's
      // stderr, which the manager shows; this report is what makes it `spawn_failed`.
      started(request, child, 'bwrap ended before it made the sandbox');
      return;
    }
    let pid: unknown;
    try {
      pid = (JSON.parse(text) as Record<string, unknown>)['child-pid'];
    } catch {
      pid = undefined;
    }
    if (typeof pid !== 'number') throw new Error(`bwrap's --info-fd is not understood: ${text}`);
    confine(request, pid);
    writeSync(block, '1');
    released = true;
    started(request, child);
  } catch (error) {
    // The sandbox's process is gone (bwrap failed after it forked it): nothing ran, and bwrap's
    // exit and stderr say why, as for any failed start.
    if (error instanceof RlimitError && error.gone) {
      started(request, child, 'the sandbox ended before it was released');
    } else refuse(request, child, error);
  } finally {
    closeSync(info);
    // Not released, the sandbox's process must never take the block fd's end for its byte: the
    // fd closes once bwrap, and that process with it (--die-with-parent), has exited.
    if (released) closeSync(block);
    else void child.exited.then(() => closeSync(block));
  }
}

reply({ ready: true });

const decoder = new TextDecoder();
const reader = Bun.stdin.stream().getReader();
let pending = '';
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  pending += decoder.decode(value, { stream: true });
  for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
    const line = pending.slice(0, end);
    pending = pending.slice(end + 1);
    launch(JSON.parse(line) as Request);
  }
}
for (const pid of live.keys()) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
// The socket's directory is the manager's, removed by it on close(); a manager that died
// (SIGKILL) cannot, so it goes here too.
rmSync(dirname(socketPath), { recursive: true, force: true });
process.exit(0);
