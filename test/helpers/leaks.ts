import { MANAGER_LEAF, ownPath } from '../../src/sandbox/cgroup-detect.js';
import { heldSpareDirs } from '../../src/sandbox/spare-dirs.js';
import { expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownerTag } from '../../src/sandbox/owner.js';

/**
 * What an execution may leave behind, read from the system itself: processes of tools (by
 * command line, so setsid'd grandchildren reparented away from us count too), zombies among our
 * children, toolcage temp dirs, per-execution cgroups, and this process's open descriptors.
 * A runtime's launcher (src/runtime/launcher/main.ts) lives as long as the runtime: its process,
 * socket directory and the four descriptors to it are the runtime's, not an execution's, and
 * are not counted while it runs; `launchers` lists the running ones, for checks after close().
 *
 * Only what the code under test made counts: the machine is shared (other checkouts run their
 * tests, other runtimes work, earlier runs may have left things). Temp dirs and cgroups carry
 * their maker's owner tag (src/sandbox/owner.ts), so they are judged by owner: this process's,
 * or the one given. A process is ours when it descends from this process, is in one of our
 * cgroups, runs a file of this checkout, or was seen as ours before (a grandchild reparented
 * to init keeps counting).
 */
export interface Leftovers {
  readonly processes: string[];
  readonly launchers: string[];
  readonly zombies: number[];
  readonly tempDirs: string[];
  readonly cgroups: string[];
  readonly fds: number;
}

/** This checkout's root (with a trailing slash): its worker, launcher and fixtures live there. */
const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

// Command-line fragments only toolcage's tool processes (and the fixtures' grandchildren) have.
// A bundled tool's process runs its bundle, not the worker's file: every tool process (and
// build) is given this checkout's bunfig explicitly, the launcher is not.
const MARKERS = [
  '/runtime/worker/main.',
  `--config=${CHECKOUT}bunfig.toml`,
  'tools-fixtures/',
  'sleep 4242',
  'toolcage-fixture-marker',
];
/** This process's owner tag, as toolcage names what it makes here. */
export const OWNER = ownerTag();

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

// Fields after the command (which may contain spaces) start after the last ')'.
function statFields(pid: string): string[] | undefined {
  const stat = readProc(pid, 'stat');
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function descendsFrom(pid: string, ancestor: number): boolean {
  let current = pid;
  for (let depth = 0; depth < 64 && current !== '0' && current !== '1'; depth++) {
    if (current === String(ancestor)) return true;
    const parent = statFields(current)?.[1];
    if (parent === undefined) return false;
    current = parent;
  }
  return false;
}

function inCgroupOf(pid: string, owner: string): boolean {
  return readProc(pid, 'cgroup')?.includes(`/toolcage/${owner}/`) ?? false;
}

// A file of this checkout in the command line — but its node_modules, which other checkouts on
// the machine (worktrees linking this one's node_modules) run Bun from too.
function namesThisCheckout(cmdline: string): boolean {
  return cmdline
    .split(' ')
    .some((arg) => arg.includes(CHECKOUT) && !arg.includes(`${CHECKOUT}node_modules/`));
}

// Processes (pid and start time) once found to be ours.
const seenOurs = new Set<string>();

function isOurs(pid: string, cmdline: string): boolean {
  const key = `${pid}-${statFields(pid)?.[19] ?? ''}`;
  if (seenOurs.has(key)) return true;
  const ours =
    descendsFrom(pid, process.pid) || inCgroupOf(pid, OWNER) || namesThisCheckout(cmdline);
  if (ours) seenOurs.add(key);
  return ours;
}

/**
 * Tool processes of ours (see {@link Leftovers}), as `pid: cmdline`; with `owner`, those in that
 * owner's cgroups instead (a manager of another process).
 */
export function toolProcesses(owner?: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = readProc(pid, 'cmdline')?.replaceAll('\0', ' ').trim();
    if (cmdline === undefined || cmdline === '') continue;
    if (!MARKERS.some((marker) => cmdline.includes(marker))) continue;
    if (owner === undefined ? isOurs(pid, cmdline) : inCgroupOf(pid, owner))
      found.push(`${pid}: ${cmdline.slice(0, 200)}`);
  }
  return found;
}

export function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const fields = statFields(pid);
    if (fields?.[0] === 'Z' && Number(fields[1]) === process.pid) zombies.push(Number(pid));
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

// Every launcher on the machine (whoever runs it).
function liveLaunchers(): LiveLauncher[] {
  const found: LiveLauncher[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = readProc(pid, 'cmdline')?.split('\0').filter(Boolean);
    if (argv === undefined || !argv.some((arg) => arg.includes(LAUNCHER_MARKER))) continue;
    const ppid = Number(statFields(pid)?.[1]);
    found.push({ pid, cmdline: argv.join(' '), dir: dirname(argv.at(-1) ?? ''), ppid });
  }
  return found;
}

/** Launchers of ours: started by this process, or running this checkout's launcher. */
export function launcherProcesses(launchers = liveLaunchers()): string[] {
  return launchers
    .filter((launcher) => launcher.ppid === process.pid || namesThisCheckout(launcher.cmdline))
    .map((launcher) => `${launcher.pid}: ${launcher.cmdline.slice(0, 200)}`);
}

/**
 * Temp dirs (and files) of `owner` (default: this process) in `root`, but the socket dirs of
 * launchers still running and the spare temp dirs a sandbox holds (see toolcageCgroups).
 */
export function toolcageTempDirs(
  root = tmpdir(),
  launchers = liveLaunchers(),
  owner = OWNER,
): string[] {
  const inUse = new Set([...launchers.map((launcher) => launcher.dir), ...heldSpareDirs()]);
  try {
    return readdirSync(root)
      .filter(
        (name) => name.startsWith(`toolcage-${owner}-`) || name.startsWith(`.toolcage-${owner}-`),
      )
      .map((name) => join(root, name))
      .filter((dir) => !inUse.has(dir));
  } catch {
    return [];
  }
}

/**
 * Per-execution cgroups of `owner` (default: this process), and its own dir when `withOwnDir`.
 * The spares an open runtime's sandbox holds (src/sandbox/spare-dirs.ts) are its own, not an
 * execution's: not counted while they are held; one left after its sandbox settled is.
 */
export function toolcageCgroups(owner = OWNER, withOwnDir = false): string[] {
  const held = heldSpareDirs();
  const found: string[] = [];
  let controllers: string[] = [];
  try {
    controllers = readdirSync('/sys/fs/cgroup');
  } catch {
    return found;
  }
  // Under the hierarchy's root (root), and under this process's own cgroup (a delegated subtree;
  // on v2 its manager sits in the leaf it moved into, see src/sandbox/cgroup-detect.ts).
  const self = readProc('self', 'cgroup') ?? '';
  const bases = ['', ...controllers].flatMap((controller) => {
    const own = (ownPath(self, controller === '' ? '' : controller) ?? '/').replace(
      new RegExp(`/${MANAGER_LEAF}$`),
      '',
    );
    return [
      ...new Set([join('/sys/fs/cgroup', controller), join('/sys/fs/cgroup', controller, own)]),
    ];
  });
  for (const hierarchy of bases) {
    const base = join(hierarchy, 'toolcage', owner);
    let executions: string[];
    try {
      executions = readdirSync(base, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(base, entry.name));
    } catch {
      continue;
    }
    found.push(...executions.filter((dir) => !held.has(dir)), ...(withOwnDir ? [base] : []));
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
