/**
 * What the launcher calls in libc through bun:ffi (Bun has no API for them): sockets and pipes
 * it hands to the processes it starts, prlimit(), and the ids it takes for a prlimit() on
 * another user's process. Opened once per launcher.
 */
import { dlopen, ptr, read } from 'bun:ffi';
import { closeSync, writeSync } from 'node:fs';

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
// Close-on-exec: a process spawned while another's sockets are open here must not inherit them
// (Bun.spawn dup2()s the four into place, which clears the flag on the copies the child gets).
export const SOCK_CLOEXEC = 0o2000000;
export const O_RDONLY = 0;
export const O_CLOEXEC = 0o2000000;

export const libc = dlopen('libc.so.6', {
  socket: { args: ['i32', 'i32', 'i32'], returns: 'i32' },
  connect: { args: ['i32', 'ptr', 'u32'], returns: 'i32' },
  __errno_location: { args: [], returns: 'ptr' },
  pipe2: { args: ['ptr', 'i32'], returns: 'i32' },
  prlimit: { args: ['i32', 'i32', 'ptr', 'ptr'], returns: 'i32' },
  setresuid: { args: ['u32', 'u32', 'u32'], returns: 'i32' },
  setresgid: { args: ['u32', 'u32', 'u32'], returns: 'i32' },
  // syscall(2) is variadic; with integer arguments only, Linux's x86_64 and arm64 calling
  // conventions pass them as for a fixed list.
  syscall: { args: ['i64', 'i64', 'i64', 'i64'], returns: 'i64' },
});

// setresuid/setresgid by number: the raw calls change the calling thread's ids only.
const SYSCALLS: Record<string, { setresuid: number; setresgid: number } | undefined> = {
  x64: { setresuid: 117, setresgid: 119 },
  arm64: { setresuid: 147, setresgid: 149 },
};

/**
 * The raw setresuid/setresgid of this architecture, for the calling thread alone (glibc's
 * wrappers change every thread's, see rlimits.ts), or undefined where the numbers are not known.
 */
export function threadIds():
  | {
      setresuid(real: number, effective: number, saved: number): number;
      setresgid(real: number, effective: number, saved: number): number;
    }
  | undefined {
  const numbers = SYSCALLS[process.arch];
  if (numbers === undefined) return undefined;
  const call = (number: number, a: number, b: number, c: number): number =>
    Number(libc.symbols.syscall(number, a, b, c));
  return {
    setresuid: (real, effective, saved) => call(numbers.setresuid, real, effective, saved),
    setresgid: (real, effective, saved) => call(numbers.setresgid, real, effective, saved),
  };
}

export function errno(): number {
  const location = libc.symbols.__errno_location();
  return location === null ? -1 : read.i32(location, 0);
}

// A pipe, both ends close-on-exec (the child gets its end by Bun.spawn's dup2, which clears it).
export function pipe(): { read: number; write: number } {
  const ends = new Int32Array(2);
  if (libc.symbols.pipe2(ptr(ends), O_CLOEXEC) !== 0)
    throw new Error(`pipe2() failed (errno ${errno()})`);
  return { read: ends[0]!, write: ends[1]! };
}

/**
 * Connections to the manager's Unix socket at `socketPath`, each begun with its header. ptr() is
 * taken at each call: JSC may move a small typed array's storage, and a pointer kept from
 * earlier then reads garbage (seen here: connect() failed with EINVAL on the second call).
 */
export function dialer(socketPath: string): (header: string) => number {
  // struct sockaddr_un: sa_family_t (16 bits, host order), then the path, NUL-terminated.
  const address = new Uint8Array(110);
  const pathBytes = new TextEncoder().encode(socketPath);
  if (pathBytes.length > 107) throw new Error(`the socket path is too long: ${socketPath}`);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(pathBytes, 2);
  const addressLength = 2 + pathBytes.length + 1;
  return (header) => {
    const fd = libc.symbols.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket() failed (errno ${errno()})`);
    if (libc.symbols.connect(fd, ptr(address), addressLength) !== 0) {
      const code = errno();
      closeSync(fd);
      throw new Error(`connect() to the manager failed (errno ${code})`);
    }
    writeSync(fd, header);
    return fd;
  };
}
