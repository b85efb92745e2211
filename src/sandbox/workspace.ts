/**
 * What one execution has of its own outside its process, named when its launch is planned and
 * made while its process starts: the host temp dir (unsandboxed only) and the cgroups; and the
 * egress proxy's session of an allow-list. A launch that fails undoes them.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EgressProxy } from '../network/proxy.js';
import { SOCKET_NAME, type EgressSession } from '../network/session.js';
import { ExecutionCgroups } from './cgroup.js';
import type { SpareDirs } from './spare-dirs.js';
import type { SandboxCapabilities } from './detect.js';
import type { SandboxIdentity } from './identity.js';
import { SandboxRefusal } from './refusal.js';
import { removeTree } from './remove-tree.js';
import { ownedTempPrefix } from './sweep.js';
import type { LaunchRequest } from './types.js';

const MIB = 1024 * 1024;

// An allow-list: the execution's own proxy session, listening before the sandbox starts, in a
// directory named after its owner (so a sweep removes it when its manager is gone). Never a
// fallback to the whole network when it cannot start.
export async function openEgressSession(
  request: LaunchRequest,
  tmpRoot: string,
  egress: EgressProxy | undefined,
  user?: SandboxIdentity,
): Promise<EgressSession | undefined> {
  const { limits, permissions } = request;
  if (!Array.isArray(permissions.net)) return undefined;
  const what = '`permissions.net` (an allow-list)';
  if (egress === undefined) throw new SandboxRefusal(what, 'this sandbox has no egress proxy');
  try {
    const session = await egress.open({
      allow: permissions.net,
      maxConnections: limits.maxConnections,
      maxBytes: limits.maxNetworkMb * MIB,
      directory: join(tmpRoot, `${ownedTempPrefix('net')}${randomUUID()}`),
    });
    // bwrap binds the directory as the sandbox user, and the tool's forwarder connects to the
    // socket as that user (connect() needs write permission on it): both go to its group. The
    // owner stays this process, whose sweep removes only its own user's leftovers (sweep.ts).
    if (user?.switched === true) shareWithGroup(session.directory, user.gid);
    return session;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SandboxRefusal(what, `its egress proxy could not start: ${message}`);
  }
}

function shareWithGroup(directory: string, gid: number): void {
  const uid = process.getuid?.() ?? 0;
  const socket = join(directory, SOCKET_NAME);
  chownSync(directory, uid, gid);
  chmodSync(directory, 0o710);
  chownSync(socket, uid, gid);
  chmodSync(socket, 0o660);
}

// The execution's cgroups, named (not made yet), where there is a cgroup hierarchy.
export function planCgroups(
  request: LaunchRequest,
  caps: SandboxCapabilities,
  spares: SpareDirs,
): ExecutionCgroups | undefined {
  const layout = caps.cgroup.layout;
  if (layout === undefined) return undefined;
  const limits = {
    memoryBytes: caps.cgroup.memory ? request.limits.memoryMb * MIB : undefined,
    maxProcesses: caps.cgroup.pids ? request.limits.maxProcesses : undefined,
    cpus: caps.cgroup.cpu ? request.limits.cpus : undefined,
  };
  return ExecutionCgroups.plan(layout, request.launchId, limits, spares);
}

/**
 * What the execution has of its own outside its process: the host temp dir (unsandboxed only)
 * and the cgroups, named at once and made later, and its egress proxy session (allow-lists).
 */
export interface Workspace {
  /** The private temp dir on the host; undefined under bwrap (its /tmp is a tmpfs). */
  readonly root: string | undefined;
  readonly cgroups: ExecutionCgroups | undefined;
  readonly session: EgressSession | undefined;
  /** Makes them (idempotent). */
  materialize(): void;
  /** The execution is over: the spares its launch took are made again (spare-dirs.ts). */
  over(): void;
  /** Removes what was made (for a launch that failed before its plan existed). */
  undo(): Promise<void>;
}

// The host temp dir is made 0700 (or a spare made so is renamed to its name, see spare-dirs.ts),
// and only if it does not exist yet, so the name cannot be planted; it and the cgroups are made
// just before the process starts (LaunchPlan.materialize).
export function planWorkspace(
  root: string | undefined,
  cgroups: ExecutionCgroups | undefined,
  session: EgressSession | undefined,
  spares?: SpareDirs,
): Workspace {
  let materialized = false;
  return {
    root,
    cgroups,
    session,
    materialize() {
      if (materialized) return;
      if (root !== undefined) makeTempDir(root, spares);
      materialized = true;
      cgroups?.materialize();
    },
    over() {
      spares?.makeWanted();
    },
    async undo() {
      spares?.makeWanted();
      cgroups?.kill();
      await cgroups?.destroy();
      await session?.close();
      if (materialized && root !== undefined) await removeTree(root);
    },
  };
}

// The host temp dir at `root`: a spare renamed there, or made now; the next spare made after.
function makeTempDir(root: string, spares: SpareDirs | undefined): void {
  const parent = dirname(root);
  const kind = `temp dir\n${parent}`;
  try {
    if (spares?.take(kind, [root]) !== true) mkdirSync(root, { mode: 0o700 });
  } finally {
    spares?.refill(kind, () => {
      const spare = join(parent, `${ownedTempPrefix()}${randomUUID()}`);
      mkdirSync(spare, { mode: 0o700 });
      return [spare];
    });
  }
}
