/**
 * Where executions' cgroups can go. Root uses each hierarchy's root, as it owns it (its own
 * cgroup is often a service's, whose children its manager — systemd — would not expect). Any
 * other user uses what was delegated to it: `cgroupParent` when given, else its own cgroup
 * (`/proc/self/cgroup`) when it may write there. On cgroup v2 a delegated cgroup that holds
 * processes cannot hand controllers to children (the "no internal processes" rule), so the
 * manager first moves the processes of its own cgroup into a leaf, `<own>/toolcage-manager`, then
 * enables memory and pids below it — what a systemd unit with `Delegate=yes` allows.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mayAccess } from './access.js';
import { readOr } from './cgroup-files.js';
import type { CgroupLayout } from './cgroup-version.js';

/** Usable cgroup controllers and where executions' cgroups go. */
export interface CgroupCapabilities {
  readonly version: 'v1' | 'v2' | 'none';
  readonly memory: boolean;
  readonly pids: boolean;
  /** The cpu controller, for `limits.cpus` (not needed otherwise). */
  readonly cpu: boolean;
  readonly available: boolean;
  readonly layout: CgroupLayout | undefined;
  /** How the place was found: the hierarchy's root, the manager's own cgroup, or `cgroupParent`. */
  readonly via: 'root' | 'own' | 'parent' | 'none';
  readonly detail: string;
}

export interface CgroupDetectOptions {
  /** A cgroup path relative to the hierarchy's root (`/user.slice/toolcage`), or under `root`. */
  readonly parent?: string | undefined;
  /** This process's uid. @default process.getuid() */
  readonly uid?: number;
  /** The text of /proc/self/cgroup (tests give a fake one). */
  readonly self?: string;
}

/** The leaf a v2 manager moves its own cgroup's processes into. */
export const MANAGER_LEAF = 'toolcage-manager';

/** Finds where the executions' cgroups go under `root` (a v2 mount, or v1 hierarchies below it). */
export function detectCgroups(root: string, options: CgroupDetectOptions = {}): CgroupCapabilities {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const self = options.self ?? readOr('/proc/self/cgroup');
  const via: CgroupCapabilities['via'] =
    options.parent !== undefined ? 'parent' : uid === 0 ? 'root' : 'own';
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const base = baseDir(root, via, options.parent, ownPath(self, ''));
    return detectV2(root, base, via);
  }
  const v1 = (controller: 'memory' | 'pids' | 'cpu'): { dir?: string; why: string } => {
    const mount = join(root, controller);
    const probe = {
      memory: 'memory.limit_in_bytes',
      pids: 'cgroup.procs',
      cpu: 'cpu.cfs_quota_us',
    }[controller];
    if (!existsSync(join(mount, probe))) return { why: `no ${controller} hierarchy at ${mount}` };
    const dir = baseDir(mount, via, options.parent, ownPath(self, controller));
    if (dir === undefined) return { why: `no ${controller} cgroup of this process` };
    return mayAccess(dir, 'w') ? { dir, why: '' } : { why: `${dir} is not writable by uid ${uid}` };
  };
  const memory = v1('memory');
  const pids = v1('pids');
  const cpu = v1('cpu');
  const found = memory.dir !== undefined || pids.dir !== undefined;
  const where = [memory.dir, pids.dir].filter(Boolean).join(', ');
  return {
    version: found ? 'v1' : 'none',
    memory: memory.dir !== undefined,
    pids: pids.dir !== undefined,
    cpu: found && cpu.dir !== undefined,
    available: found,
    via: found ? via : 'none',
    layout: found
      ? {
          version: 'v1',
          memory: memory.dir,
          pids: pids.dir,
          cpu: cpu.dir,
          mounts: {
            memory: join(root, 'memory'),
            pids: join(root, 'pids'),
            cpu: join(root, 'cpu'),
          },
        }
      : undefined,
    detail: found
      ? `cgroup v1 (${describeVia(via)}): ${where}${memory.dir === undefined ? `; memory: ${memory.why}` : ''}${pids.dir === undefined ? `; pids: ${pids.why}` : ''}`
      : `no writable memory or pids cgroup (${memory.why}; ${pids.why})`,
  };
}

function detectV2(
  root: string,
  base: string | undefined,
  via: CgroupCapabilities['via'],
): CgroupCapabilities {
  const none = (detail: string): CgroupCapabilities => ({
    version: 'v2',
    memory: false,
    pids: false,
    cpu: false,
    available: false,
    via: 'none',
    layout: undefined,
    detail,
  });
  if (base === undefined) return none(`cgroup v2 at ${root}: no cgroup of this process found`);
  if (!mayAccess(base, 'w')) {
    return none(
      `cgroup v2 subtree ${base} is not writable by this user: it was not delegated (systemd: \`Delegate=yes\`; or chown it to this user; or set cgroupParent)`,
    );
  }
  const controllers = readOr(join(base, 'cgroup.controllers')).trim().split(/\s+/);
  const memory = controllers.includes('memory');
  const pids = controllers.includes('pids');
  const cpu = controllers.includes('cpu');
  if (!memory && !pids) {
    return none(
      `cgroup v2 subtree ${base} has neither memory nor pids in cgroup.controllers (${controllers.join(' ') || 'none'}): enable them in its parent's cgroup.subtree_control`,
    );
  }
  if (via === 'own') {
    const moved = moveIntoLeaf(base);
    if (moved !== undefined) return none(`cgroup v2 subtree ${base}: ${moved}`);
  }
  return {
    version: 'v2',
    memory,
    pids,
    cpu,
    available: true,
    via,
    layout: { version: 'v2', root: base, memory, pids, cpu },
    detail: `cgroup v2 (${describeVia(via)}) at ${base}, controllers: ${controllers.join(' ')}`,
  };
}

/**
 * Moves every process of the delegated cgroup `base` into its leaf, so that `base` may enable
 * controllers for its children; undefined when done (or nothing was in it), else why not. The
 * processes started later (the launcher, tools) start in the leaf, or in their own cgroups.
 */
export function moveIntoLeaf(base: string): string | undefined {
  const leaf = join(base, MANAGER_LEAF);
  try {
    mkdirSync(leaf, { recursive: true });
    const members = readFileSync(join(base, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    // Every process of a delegated cgroup is its delegatee's (a service's main process and its
    // children): all move, or `base` could not hand controllers down.
    for (const member of members) {
      try {
        writeFileSync(join(leaf, 'cgroup.procs'), member);
      } catch (error) {
        // A process gone meanwhile (ESRCH) is moved already.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `cannot move this process into the leaf ${leaf} (${message})`;
  }
}

// Where `toolcage/` goes in one hierarchy (mounted at `mount`).
function baseDir(
  mount: string,
  via: CgroupCapabilities['via'],
  parent: string | undefined,
  own: string | undefined,
): string | undefined {
  if (via === 'root') return mount;
  if (via === 'parent' && parent !== undefined) {
    const relative = parent.startsWith(`${mount}/`) ? parent.slice(mount.length) : parent;
    return join(mount, relative);
  }
  return own === undefined ? undefined : join(mount, own);
}

/** This process's cgroup path in a hierarchy (`''`: the v2 one) from /proc/self/cgroup. */
export function ownPath(self: string, controller: string): string | undefined {
  for (const line of self.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first === -1 || second === -1) continue;
    const controllers = line.slice(first + 1, second);
    const matches =
      controller === '' ? controllers === '' : controllers.split(',').includes(controller);
    if (matches) return line.slice(second + 1).trim() || '/';
  }
  return undefined;
}

function describeVia(via: CgroupCapabilities['via']): string {
  return via === 'root'
    ? "the hierarchy's root"
    : via === 'parent'
      ? 'cgroupParent'
      : "delegated: this process's own cgroup";
}
