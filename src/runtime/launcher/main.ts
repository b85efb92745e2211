/**
 * The launcher: a long-lived Bun process that starts tool processes for the manager, so that
 * the manager (Node) does not fork itself for every execution. Runs inside Bun (never in Node).
 *
 * Why: Node 20's libuv spawns with a plain fork(), which copies the page tables of the whole
 * manager and write-protects every page it has, so the manager also takes a copy-on-write fault
 * on each page it writes afterwards. Measured here (Node 20.20, libuv 1.46, Linux 6.18): a spawn
 * of /bin/true until 'close' takes 1.45 ms from a 56 MB Node and 1.55–1.84 ms from a 221 MB one,
 * and the spawn itself was 11 % of a busy manager's CPU profile (1.7 ms per execution); Bun
 * spawns the same /bin/true in 0.56–0.63 ms with ≈ 0.2 ms of its own CPU (posix_spawn, vfork).
 * Engines that embed toolcage are large processes, so the cost only grows for them.
 *
 * Protocol, one JSON object per line:
 *   stdin  (manager → launcher): `{"t":token,"file":…,"args":[…],"env":{…},"cwd":…,"files":[…]}`
 *          and, when the launcher applies the limits itself (LaunchPlan.byLauncher), the fields
 *          of a LauncherLaunch: `cgroup` or `joins`, `rlimits`, `hold` (see "Limits" below)
 *   stdout (launcher → manager): `{"ready":true}` once, then per request `{"t":token,"pid":N}`
 *          or `{"t":token,"error":"…"}`, and once it has exited `{"t":token,"code":N,"signal":S}`
 *          (with `"sandboxFailed":"…"` when bwrap ended before the tool's process started).
 * The process's stdio are four connections to the manager's Unix socket (argv[2]), opened here
 * and each begun with one header line, `<fd><token>`: the manager accepts them and knows whose
 * they are. The socket's directory is the manager's own (0700), and a token is 128 random bits.
 * Node cannot create a pipe for another process nor take a descriptor over a socket, and Bun's
 * socket APIs expose no descriptor to hand to Bun.spawn: the sockets are made with libc through
 * bun:ffi (once per launcher: ≈ 1 ms to open, nothing per call).
 *
 * Every process is started with `detached` (setsid): it leads its own process group, as with the
 * manager's own spawn, and the manager kills the group by pid. At the end of stdin (the manager
 * closed it, or died) every process still running is killed, the socket's directory removed,
 * and the launcher exits.
 *
 * Limits. The prologue a process Node spawns runs (`/bin/sh`: join the cgroups, `ulimit`, exec)
 * costs an exec of dash on every call: 0.66 ms measured here (Bun spawning `bun script`, Linux
 * 6.18, cgroup v1, medians of 80), against 0.06 ms for what the launcher does instead:
 * - cgroup v2: Bun.spawn's `cgroup` starts the process inside its cgroup (clone3's
 *   CLONE_INTO_CGROUP; observed on Bun 1.4.5 with strace, with a fallback that writes
 *   `cgroup.procs` from the child before its exec where clone3 refuses). A join through
 *   `cgroup.procs` takes the kernel's migration lock: 12.8 ms against 2.0 ms (bench `cgroup`).
 * - cgroup v1: the thread that spawns (this one: Bun.spawn forks from the calling thread, seen
 *   with strace) writes `0` to each cgroup's `tasks` file — it moves itself alone, the kernel's
 *   fast path — spawns, the child starting in its thread's cgroups, and goes back to its own.
 *   Meanwhile this process's page faults are charged to the execution's memory cgroup (v1
 *   charges a process's memory to its leader's cgroup): a few pages of Bun.spawn, which stay
 *   charged there. A thread the spawning thread starts meanwhile is born inside: it is brought
 *   back before the reply (bringBackThreads). Nothing else of the manager touches that cgroup
 *   before the reply.
 * - rlimits: prlimit() on the process before anything can run in it. Bun (unsandboxed) runs no
 *   tool code before its request, which the manager writes after the reply. bwrap forks the
 *   sandbox's process early and that one forks the tool's: bwrap's `--info-fd` gives the
 *   sandbox's pid, which waits on `--block-fd` before it forks anything; it gets the rlimits,
 *   then its byte. The reply comes after, or an error (the process killed).
 */
import { dlopen, ptr, read } from 'bun:ffi';
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
  // The limits this launcher applies (LauncherLaunch in sandbox/types.ts; see "Limits" above).
  readonly cgroup?: string;
  readonly joins?: readonly {
    readonly controller: string;
    readonly hierarchy: string;
    readonly file: string;
  }[];
  readonly rlimits?: readonly {
    readonly resource: keyof typeof RLIMIT;
    readonly soft: number;
    readonly hard: number;
  }[];
  readonly hold?: { readonly infoFd: number; readonly blockFd: number };
  readonly user?: { readonly uid: number; readonly gid: number };
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
// Close-on-exec: a process spawned while another's sockets are open here must not inherit them
// (Bun.spawn dup2()s the four into place, which clears the flag on the copies the child gets).
const SOCK_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const RLIMIT = { cpu: 0, fsize: 1, data: 2, nproc: 6, nofile: 7 } as const;

const libc = dlopen('libc.so.6', {
  socket: { args: ['i32', 'i32', 'i32'], returns: 'i32' },
  connect: { args: ['i32', 'ptr', 'u32'], returns: 'i32' },
  __errno_location: { args: [], returns: 'ptr' },
  pipe2: { args: ['ptr', 'i32'], returns: 'i32' },
  prlimit: { args: ['i32', 'i32', 'ptr', 'ptr'], returns: 'i32' },
  setresuid: { args: ['u32', 'u32', 'u32'], returns: 'i32' },
  setresgid: { args: ['u32', 'u32', 'u32'], returns: 'i32' },
});

const socketPath = process.argv[2];
if (socketPath === undefined) throw new Error('usage: launcher <socket path>');
// struct sockaddr_un: sa_family_t (16 bits, host order), then the path, NUL-terminated.
const address = new Uint8Array(110);
const pathBytes = new TextEncoder().encode(socketPath);
if (pathBytes.length > 107) throw new Error(`the socket path is too long: ${socketPath}`);
new DataView(address.buffer).setUint16(0, AF_UNIX, true);
address.set(pathBytes, 2);
const addressLength = 2 + pathBytes.length + 1;

function errno(): number {
  const location = libc.symbols.__errno_location();
  return location === null ? -1 : read.i32(location, 0);
}

// One connection to the manager, begun with its header. ptr() is taken at each call: JSC may
// move a small typed array's storage, and a pointer kept from earlier then reads garbage
// (seen here: connect() failed with EINVAL on the second call).
function dial(header: string): number {
  const fd = libc.symbols.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket() failed (errno ${errno()})`);
  if (libc.symbols.connect(fd, ptr(address), addressLength) !== 0) {
    const code = errno();
    closeSync(fd);
    throw new Error(`connect() to the manager failed (errno ${code})`);
  }
  writeSync(fd, header);
  return fd;
}

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

function failure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// A pipe, both ends close-on-exec (the child gets its end by Bun.spawn's dup2, which clears it).
function pipe(): { read: number; write: number } {
  const ends = new Int32Array(2);
  if (libc.symbols.pipe2(ptr(ends), O_CLOEXEC) !== 0)
    throw new Error(`pipe2() failed (errno ${errno()})`);
  return { read: ends[0]!, write: ends[1]! };
}

const ESRCH = 3;

/** prlimit() failed; `gone` when the process no longer exists (ESRCH). */
class RlimitError extends Error {
  constructor(
    message: string,
    readonly gone: boolean,
  ) {
    super(message);
  }
}

function setRlimits(pid: number, rlimits: Request['rlimits'], user?: Request['user']): void {
  if (user !== undefined && (rlimits?.length ?? 0) > 0) {
    asUser(user, () => setRlimits(pid, rlimits));
    return;
  }
  for (const limit of rlimits ?? []) {
    // struct rlimit: two 64-bit values. ptr() at the call, as in dial().
    const values = new BigUint64Array([BigInt(limit.soft), BigInt(limit.hard)]);
    if (libc.symbols.prlimit(pid, RLIMIT[limit.resource], ptr(values), null) !== 0) {
      const code = errno();
      throw new RlimitError(
        `cannot set RLIMIT_${limit.resource.toUpperCase()} of process ${pid} (errno ${code})`,
        code === ESRCH,
      );
    }
  }
}

/*
 * Runs `work` with this process's real and effective ids set to `user`'s, the saved ones kept
 * (root), then back. prlimit() on another user's process needs CAP_SYS_RESOURCE — which root
 * lacked on this project's own machines (CapEff without bit 24) — or the same ids: a root
 * manager's sandbox runs as its sandbox user (see sandbox/identity.ts). glibc applies each call
 * to every thread of the process; nothing else runs here meanwhile.
 */
function asUser(user: NonNullable<Request['user']>, work: () => void): void {
  const own = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (libc.symbols.setresgid(user.gid, user.gid, own.gid) !== 0) {
    throw new Error(`setresgid(${user.gid}) failed (errno ${errno()})`);
  }
  try {
    if (libc.symbols.setresuid(user.uid, user.uid, own.uid) !== 0) {
      throw new Error(`setresuid(${user.uid}) failed (errno ${errno()})`);
    }
    try {
      work();
    } finally {
      restore(() => libc.symbols.setresuid(own.uid, own.uid, own.uid), 'setresuid');
    }
  } finally {
    restore(() => libc.symbols.setresgid(own.gid, own.gid, own.gid), 'setresgid');
  }
}

// Back to the launcher's own ids; a launcher that cannot is no use to anyone: it ends (the
// manager starts another).
function restore(call: () => number, name: string): void {
  if (call() === 0) return;
  reply({ fatal: `${name} back to the launcher's own ids failed (errno ${errno()})` });
  process.exit(1);
}

// Bun.spawn with the child in its cgroups (see "Limits"): cloned into a v2 one, or started from
// this thread while it is in the v1 ones, which it leaves again whatever happens.
function spawnInCgroups(request: Request, stdio: number[]): Bun.Subprocess {
  const joined: NonNullable<Request['joins']>[number][] = [];
  let child: Bun.Subprocess | undefined;
  try {
    for (const join of request.joins ?? []) {
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
 * that needs them — seen here (Bun 1.4.5, Linux 6.18, under load): a `JSCWarmUp` thread born
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
    if (hold === undefined) setRlimits(spawned.pid, request.rlimits, request.user);
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
    setRlimits(pid, request.rlimits, request.user);
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
