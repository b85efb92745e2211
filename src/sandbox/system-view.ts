/**
 * Finds what of the host a sandbox shows: the shared libraries of the Bun binary, and the
 * root layout and `/etc` files used when `run` or `net` is granted. Found once per Bun binary.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { RootEntry, SystemView } from './bwrap-args.js';
import { runProbe } from './probe.js';

// Root entries a command needs when subprocesses are allowed; Debian's merged /usr makes most
// of them symlinks into /usr, which are recreated as symlinks (not binds).
export const RUN_ROOT = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

// /etc files commands commonly need (users and groups by name, the loader cache, time zone,
// Debian's alternatives symlinks, certificates). Never /etc as a whole: it holds `shadow`.
const RUN_ETC = [
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/timezone',
  '/etc/alternatives',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/os-release',
  '/etc/debian_version',
  '/etc/mime.types',
];

// Name resolution, when the network is granted (resolv.conf may be a symlink into /run: bwrap
// follows a source symlink, so the file itself is bound at /etc/resolv.conf).
const NET_ETC = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/gai.conf',
  '/etc/nsswitch.conf',
  '/etc/services',
  '/etc/protocols',
  '/etc/ssl',
  '/etc/ca-certificates',
];

// /proc paths covered as container runtimes cover them: read-only (kernel knobs), or masked
// (kernel memory, keys, timers, the scheduler's and allocators' internals). Only those this
// kernel has: bwrap cannot make a mount point inside /proc. Each cover is a bind and a remount
// that reads the mount table again (bwrap 0.8's bind_mount), on every cold call
// (docs/performance.md, "The /proc covers").
const PROC_READ_ONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];
// A few of its knobs are mode 0666 and check a capability only when written
// (`kernel/ns_last_pid`): read-only for every sandbox, whoever runs it.
const ALWAYS_READ_ONLY = ['/proc/sys'];
const PROC_MASKED = [
  '/proc/kcore',
  '/proc/keys',
  '/proc/key-users',
  '/proc/timer_list',
  '/proc/sched_debug',
  '/proc/slabinfo',
  '/proc/vmallocinfo',
  '/proc/kallsyms',
  '/proc/kmsg',
  '/proc/acpi',
  '/proc/scsi',
];

// When the libraries cannot be listed (no ldd), bind the usual library directories whole.
const FALLBACK_LIBRARY_DIRS = ['/lib', '/lib64', '/usr/lib', '/usr/lib64'];

const views = new Map<string, Promise<SystemView>>();

/** The system view for a Bun binary (cached per path). */
export function systemView(bunPath: string): Promise<SystemView> {
  let view = views.get(bunPath);
  if (view === undefined) {
    view = findSystemView(bunPath);
    views.set(bunPath, view);
  }
  return view;
}

async function findSystemView(bunPath: string): Promise<SystemView> {
  let libraries: string[];
  const ldd = await runProbe('ldd', [bunPath]);
  if (ldd.ok) {
    libraries = parseLdd(ldd.stdout);
    // Without /etc/ld.so.cache the loader searches only its default directories; with it, a
    // library ldd found through /etc/ld.so.conf.d is found inside as well.
    if (libraries.length > 0 && existsSync('/etc/ld.so.cache')) libraries.push('/etc/ld.so.cache');
  } else {
    // ldd exits 1 for a static binary ("not a dynamic executable"): it needs no library.
    libraries = /not a dynamic executable|statically linked/.test(`${ldd.stdout}${ldd.stderr}`)
      ? []
      : FALLBACK_LIBRARY_DIRS.filter((dir) => existsSync(dir));
  }
  return {
    libraries,
    runRoot: rootEntries(RUN_ROOT),
    runEtc: RUN_ETC.filter((file) => existsSync(file)),
    netEtc: NET_ETC.filter((file) => existsSync(file)),
    proc: findProcCovers(),
  };
}

/**
 * The /proc covers of this kernel: all of them for a sandbox that is host root, for which they
 * stand in for the permission checks it passes; for any other, those a plain user's permission
 * checks would not stop (an entry any user may write, or read). Found from the modes, so a
 * kernel that opens one of them up gets its cover back.
 */
export function findProcCovers(): NonNullable<SystemView['proc']> {
  const readOnly = PROC_READ_ONLY.filter((path) => existsSync(path));
  const masked = PROC_MASKED.filter((path) => existsSync(path)).map((path) => ({
    path,
    type: lstatSync(path).isDirectory() ? ('directory' as const) : ('file' as const),
  }));
  return {
    all: { readOnly, masked },
    anyUser: {
      readOnly: readOnly.filter(
        (path) => ALWAYS_READ_ONLY.includes(path) || anyoneMay(path, 0o002),
      ),
      masked: masked.filter((entry) => anyoneMay(entry.path, 0o004)),
    },
  };
}

// Whether `path`, or anything under it, grants `bit` (0o002 write, 0o004 read) to any user.
// Symlinks are not followed: their own mode is always 0777.
function anyoneMay(path: string, bit: number): boolean {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return false;
  }
  if (stats.isSymbolicLink()) return false;
  if ((stats.mode & bit) !== 0) return true;
  // A directory others cannot enter keeps what it holds from them.
  if (!stats.isDirectory() || (stats.mode & 0o001) === 0) return false;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return false;
  }
  return names.some((name) => anyoneMay(join(path, name), bit));
}

/**
 * The files a binary loads, from `ldd` output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
 * (0x…)` lines and the loader line `/lib64/ld-linux-x86-64.so.2 (0x…)`. The vDSO has no file.
 */
export function parseLdd(output: string): string[] {
  const files = new Set<string>();
  for (const line of output.split('\n')) {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    const direct = /^\s*(\/\S+)\s+\(0x/.exec(line);
    const file = arrow?.[1] ?? direct?.[1];
    if (file !== undefined) files.add(file);
  }
  return [...files];
}

function rootEntries(paths: readonly string[]): RootEntry[] {
  const entries: RootEntry[] = [];
  for (const path of paths) {
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink())
        entries.push({ kind: 'symlink', path, target: readlinkSync(path) });
      else if (stat.isDirectory()) entries.push({ kind: 'dir', path });
    } catch {
      // Not on this machine.
    }
  }
  return entries;
}
