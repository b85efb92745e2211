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
 *          and, to start the process inside a cgroup (v2, see LaunchPlan.into), `"cgroup":dir`
 *   stdout (launcher → manager): `{"ready":true}` once, then per request `{"t":token,"pid":N}`
 *          or `{"t":token,"error":"…"}`, and once it has exited `{"t":token,"code":N,"signal":S}`.
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
 */
import { dlopen, ptr, read } from 'bun:ffi';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

interface Request {
  readonly t: string;
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Opened read-only as fds 4, 5, … (LaunchPlan.extraFiles). */
  readonly files: readonly string[];
  /**
   * A cgroup v2 directory the process starts in: Bun.spawn clones it there (CLONE_INTO_CGROUP,
   * no migration lock; observed on Bun 1.4.5 with strace, falling back to a write of
   * `cgroup.procs` by the child before its exec where clone3 refuses) and fails the spawn when it
   * cannot be joined.
   */
  readonly cgroup?: string;
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
// Close-on-exec: a process spawned while another's sockets are open here must not inherit them
// (Bun.spawn dup2()s the four into place, which clears the flag on the copies the child gets).
const SOCK_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

const libc = dlopen('libc.so.6', {
  socket: { args: ['i32', 'i32', 'i32'], returns: 'i32' },
  connect: { args: ['i32', 'ptr', 'u32'], returns: 'i32' },
  __errno_location: { args: [], returns: 'ptr' },
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

const live = new Map<number, Bun.Subprocess>();

function reply(message: object): void {
  writeSync(1, `${JSON.stringify(message)}\n`);
}

function launch(request: Request): void {
  const fds: number[] = [];
  try {
    for (let fd = 0; fd < 4; fd++) fds.push(dial(`${fd}${request.t}\n`));
    for (const file of request.files) fds.push(openSync(file, O_RDONLY | O_CLOEXEC));
    const child = Bun.spawn({
      cmd: [request.file, ...request.args],
      env: request.env,
      cwd: request.cwd,
      // At least the four dialled above.
      stdio: fds as [number, number, number, ...number[]],
      detached: true,
      ...(request.cgroup === undefined ? {} : { cgroup: request.cgroup }),
    });
    live.set(child.pid, child);
    reply({ t: request.t, pid: child.pid });
    void child.exited.then(() => {
      live.delete(child.pid);
      reply({ t: request.t, code: child.exitCode, signal: child.signalCode });
    });
  } catch (error) {
    reply({ t: request.t, error: error instanceof Error ? error.message : String(error) });
  } finally {
    // The child has its copies; the manager holds the other ends.
    for (const fd of fds) closeSync(fd);
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
