/**
 * The members of cgroups, as the manager reaches them: signalled, counted, their CPU time summed,
 * and the cgroups removed once empty. Every function here never throws.
 */
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { readOr } from './cgroup-files.js';

// rmdir fails with EBUSY for a few ms after the last member was reaped (docs/performance.md,
// "Removing a cgroup after its last member"): poll quickly first, then back off; give up
// after ~2 s.
const RETRY_DELAYS_MS = [0, 1, 1, 1, 2, 2, 2, 5, 5, 10, 10, 20, 50, 100, 200, 300, 500, 800];
/**
 * Removes each cgroup, killing its members and retrying while killed tasks still exit; resolves
 * with the ones removed. rmdir comes first: it fails (EBUSY) while any member is left, so an
 * empty cgroup costs no read of its member list; members are killed only when it did fail.
 */
export async function removeCgroups(dirs: readonly string[]): Promise<string[]> {
  let left = dirs.filter((dir) => !tryRmdir(dir));
  for (const delay of RETRY_DELAYS_MS) {
    if (left.length === 0) break;
    killMembers(left);
    await sleep(delay);
    left = left.filter((dir) => !tryRmdir(dir));
  }
  return dirs.filter((dir) => !left.includes(dir));
}

// SIGKILLs the members of `dirs`; returns how many it found.
export function killMembers(dirs: readonly string[]): number {
  return signalMembers(dirs, 'SIGKILL', () => false);
}

// Signals the members of `dirs` (but those `skip` names); returns how many it found.
export function signalMembers(
  dirs: readonly string[],
  signal: NodeJS.Signals,
  skip: (pid: number) => boolean,
): number {
  let found = 0;
  for (const dir of dirs) {
    for (const line of readOr(join(dir, 'cgroup.procs')).split('\n')) {
      const pid = Number(line);
      // 0: a member of another PID namespace, invisible from ours.
      if (!Number.isSafeInteger(pid) || pid <= 0) continue;
      found++;
      if (skip(pid)) continue;
      try {
        process.kill(pid, signal);
      } catch {
        // ESRCH: it exited meanwhile.
      }
    }
  }
  return found;
}

// True when the directory is gone (removed now, or already).
export function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

export function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * CPU seconds used so far by the members of `dir` and every process they reaped: utime + stime +
 * cutime + cstime of each live member (a dead process's time is in its reaper's cutime, and the
 * sandbox's init, which reaps every orphan, lives to the end). /proc counts in USER_HZ, 100 on
 * every Linux architecture.
 */
export function cpuSecondsOf(dir: string): number {
  let ticks = 0;
  for (const line of readOr(join(dir, 'cgroup.procs')).split('\n')) {
    if (!/^\d+$/.test(line)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${line}/stat`, 'utf8');
    } catch {
      continue; // Gone meanwhile: its time is in its reaper's.
    }
    // Fields after the command (which may hold spaces): state is 3rd; utime..cstime are 14th-17th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    for (const index of [11, 12, 13, 14]) ticks += Number(fields[index] ?? 0) || 0;
  }
  return ticks / 100;
}
