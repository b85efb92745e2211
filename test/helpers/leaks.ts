import { expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * What an execution may leave behind, read from the system itself: processes of tools (by
 * command line, so setsid'd grandchildren reparented away from us count too), zombies among our
 * children, toolcage temp dirs, per-execution cgroups, and this process's open descriptors.
 * A runtime's launcher (src/runtime/launcher/main.ts) lives as long as the runtime: its process,
 * socket directory and the four descriptors to it are the runtime's, not an execution's, and
 * are not counted while it runs; `launchers` lists the running ones, for checks after close().
 */
export interface Leftovers {
  readonly processes: string[];
  readonly launchers: string[];
  readonly zombies: number[];
  readonly tempDirs: string[];
  readonly cgroups: string[];
  readonly fds: number;
}

// Command-line fragments only toolcage's tool processes (and the fixtures' grandchildren) have.
const MARKERS = [
  '/runtime/worker/main.',
  'tools-fixtures/',
  'sleep 4242',
  'toolcage-fixture-marker',
];

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

export function toolProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = readProc(pid, 'cmdline')?.replaceAll('\0', ' ').trim();
    if (cmdline === undefined || cmdline === '') continue;
    if (MARKERS.some((marker) => cmdline.includes(marker)))
      found.push(`${pid}: ${cmdline.slice(0, 200)}`);
  }
  return found;
}

export function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = readProc(pid, 'stat');
    if (stat === undefined) continue;
    // Fields after the command (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' && Number(fields[1]) === process.pid) zombies.push(Number(pid));
  }
  return zombies;
}

const LAUNCHER_MARKER = '/runtime/launcher/main.';

interface LiveLauncher {
  readonly pid: string;
  readonly cmdline: string;
  /** Its socket's directory (its last argument is the socket's path). */
  readonly dir: string;
  readonly ppid: number;
}

function liveLaunchers(): LiveLauncher[] {
  const found: LiveLauncher[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = readProc(pid, 'cmdline')?.split('\0').filter(Boolean);
    if (argv === undefined || !argv.some((arg) => arg.includes(LAUNCHER_MARKER))) continue;
    const stat = readProc(pid, 'stat') ?? '';
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    found.push({ pid, cmdline: argv.join(' '), dir: dirname(argv.at(-1) ?? ''), ppid });
  }
  return found;
}

export function launcherProcesses(launchers = liveLaunchers()): string[] {
  return launchers.map((launcher) => `${launcher.pid}: ${launcher.cmdline.slice(0, 200)}`);
}

export function toolcageTempDirs(root = tmpdir(), launchers = liveLaunchers()): string[] {
  const inUse = new Set(launchers.map((launcher) => launcher.dir));
  try {
    return readdirSync(root)
      .filter((name) => name.startsWith('toolcage-'))
      .map((name) => join(root, name))
      .filter((dir) => !inUse.has(dir));
  } catch {
    return [];
  }
}

export function toolcageCgroups(): string[] {
  const found: string[] = [];
  let controllers: string[] = [];
  try {
    controllers = readdirSync('/sys/fs/cgroup');
  } catch {
    return found;
  }
  for (const controller of ['', ...controllers]) {
    const base = join('/sys/fs/cgroup', controller, 'toolcage');
    let entries: string[] = [];
    try {
      entries = readdirSync(base, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      continue;
    }
    for (const runtimeDir of entries) {
      try {
        for (const execution of readdirSync(join(base, runtimeDir), { withFileTypes: true })) {
          if (execution.isDirectory()) found.push(join(base, runtimeDir, execution.name));
        }
      } catch {
        // gone meanwhile
      }
    }
  }
  return found;
}

/**
 * This process's open descriptors, less the four of each running launcher it started (the
 * server socket, and the three socketpairs of the launcher's stdio: libuv makes stdio "pipes"
 * with socketpair(), so they cannot be told from the tools' own by their /proc links).
 */
export function openFds(launchers = liveLaunchers()): number {
  const ours = launchers.filter((launcher) => launcher.ppid === process.pid).length;
  return readdirSync('/proc/self/fd').length - 4 * ours;
}

export function leftovers(): Leftovers {
  // One scan of /proc for the launchers serves the three figures that depend on them.
  const launchers = liveLaunchers();
  return {
    processes: toolProcesses(),
    launchers: launcherProcesses(launchers),
    zombies: zombieChildren(),
    tempDirs: toolcageTempDirs(tmpdir(), launchers),
    cgroups: toolcageCgroups(),
    fds: openFds(launchers),
  };
}

/**
 * Waits (bounded) until nothing is left beyond `baseline`'s descriptors; returns what remains.
 * The kernel reaps a killed sandbox asynchronously, so a few ms of grace are normal.
 */
export async function settledLeftovers(baselineFds: number, waitMs = 2_000): Promise<Leftovers> {
  const until = Date.now() + waitMs;
  for (;;) {
    const now = leftovers();
    const clean =
      now.processes.length === 0 &&
      now.zombies.length === 0 &&
      now.tempDirs.length === 0 &&
      now.cgroups.length === 0 &&
      now.fds <= baselineFds;
    if (clean || Date.now() > until) return now;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Asserts that nothing of any execution is left: no tool process, zombie, toolcage temp dir or
 * cgroup, and no more open descriptors than `baselineFds` (+ the sandbox's 2 long-lived ones).
 */
export async function expectNothingLeft(baselineFds: number, waitMs?: number): Promise<void> {
  const left = await settledLeftovers(baselineFds + 2, waitMs);
  expect(left.processes).toEqual([]);
  expect(left.zombies).toEqual([]);
  expect(left.tempDirs).toEqual([]);
  expect(left.cgroups).toEqual([]);
  expect(left.fds).toBeLessThanOrEqual(baselineFds + 2);
}
