/**
 * Who made a temp dir or a cgroup: the manager process (the one running a runtime), named by
 * its pid and its start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot). The
 * start time makes the name unique for the life of the machine: a dead manager's pid reused by
 * another process does not make its leftovers look alive. Sweeps (sweep.ts) remove only what
 * belongs to an owner that is gone, so runtimes of other processes on the machine — other
 * applications, other test runs — keep their files while they live.
 *
 * Assumes that managers sharing a temp root or a cgroup filesystem share this PID namespace
 * (one machine or one container), as the names mean nothing across namespaces.
 */
import { readFileSync } from 'node:fs';

/** A manager: its pid and its start time in clock ticks since boot. */
export interface Owner {
  readonly pid: number;
  readonly start: number;
}

/** `<pid>-<start>`, as owner names begin. */
const OWNER = /^(\d+)-(\d+)(?:-|$)/;

let self: string | undefined;

/** This process's owner tag, `<pid>-<start>` (computed once). */
export function ownerTag(): string {
  self ??= `${process.pid}-${startTime(process.pid) ?? 0}`;
  return self;
}

/**
 * True when owners can be told apart here (`/proc` shows this process's start time). Without
 * it nothing is swept: every owner would look gone.
 */
export function canJudgeOwners(): boolean {
  return typeof startTime(process.pid) === 'number';
}

/** The owner a name (`<pid>-<start>` or `<pid>-<start>-…`) begins with, if it does. */
export function parseOwner(name: string): Owner | undefined {
  const match = OWNER.exec(name);
  if (match === null) return undefined;
  return { pid: Number(match[1]), start: Number(match[2]) };
}

/**
 * True while the owner runs: a process with its pid exists and started when it did. A process
 * whose stat cannot be read counts as alive (not ours to judge).
 */
export function isOwnerAlive(owner: Owner): boolean {
  const start = startTime(owner.pid);
  if (start === null) return false;
  return start === undefined || start === owner.start;
}

// The start time of a process; null when it does not exist, undefined when it cannot be read.
function startTime(pid: number): number | null | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
  // The fields after the command name (which may hold spaces and parentheses) start after the
  // last ')': state is field 3, so starttime (field 22) is the 20th of those.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : undefined;
}
