/**
 * The rlimits the launcher sets on a process it started (Confinement.rlimits), as the
 * sandbox's user when the process is that user's (see asUser).
 */
import { ptr } from 'bun:ffi';
import { errno, libc, threadIds } from './libc.js';

/** RLIMIT_* numbers (the same on x86_64 and arm64). */
export const RLIMIT = { cpu: 0, fsize: 1, data: 2, nproc: 6, nofile: 7 } as const;

/** One rlimit of a request. */
export interface RlimitRequest {
  readonly resource: keyof typeof RLIMIT;
  readonly soft: number;
  readonly hard: number;
}

/** The ids a prlimit() is made with. */
export interface User {
  readonly uid: number;
  readonly gid: number;
}

const ESRCH = 3;

/** prlimit() failed; `gone` when the process no longer exists (ESRCH). */
export class RlimitError extends Error {
  constructor(
    message: string,
    readonly gone: boolean,
  ) {
    super(message);
  }
}

export function setRlimits(
  pid: number,
  rlimits: readonly RlimitRequest[] | undefined,
  user: User | undefined,
  onFatal: (message: string) => never,
): void {
  if (user !== undefined && (rlimits?.length ?? 0) > 0) {
    asUser(user, onFatal, () => setRlimits(pid, rlimits, undefined, onFatal));
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
 * Runs `work` with this thread's real and effective ids set to `user`'s, the saved ones kept
 * (root), then back. prlimit() on another user's process needs CAP_SYS_RESOURCE — which root
 * lacked on this project's own machines (CapEff without bit 24) — or the same ids: a root
 * manager's sandbox runs as its sandbox user (see sandbox/identity.ts). The kernel checks the
 * calling thread's ids, and the raw syscalls change only those; glibc's wrappers signal every
 * thread of the process to change theirs too, which cost each release of a sandbox ≈ 0.8 ms
 * across Bun's threads (docs/performance.md, "The sandbox user's ids for a prlimit()"). Where
 * the syscall numbers are not known, the wrappers; nothing else runs on this thread meanwhile.
 */
function asUser(user: User, onFatal: (message: string) => never, work: () => void): void {
  const own = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const ids = threadIds() ?? libc.symbols;
  if (ids.setresgid(user.gid, user.gid, own.gid) !== 0) {
    throw new Error(`setresgid(${user.gid}) failed (errno ${errno()})`);
  }
  try {
    if (ids.setresuid(user.uid, user.uid, own.uid) !== 0) {
      throw new Error(`setresuid(${user.uid}) failed (errno ${errno()})`);
    }
    try {
      work();
    } finally {
      restore(() => ids.setresuid(own.uid, own.uid, own.uid), 'setresuid', onFatal);
    }
  } finally {
    restore(() => ids.setresgid(own.gid, own.gid, own.gid), 'setresgid', onFatal);
  }
}

// Back to the launcher's own ids; a launcher that cannot is no use to anyone: it ends (the
// manager starts another).
function restore(call: () => number, name: string, onFatal: (message: string) => never): void {
  if (call() !== 0) onFatal(`${name} back to the launcher's own ids failed (errno ${errno()})`);
}
