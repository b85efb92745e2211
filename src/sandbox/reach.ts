/**
 * Whether the sandbox's host user can reach a path: bwrap, started as that user, must open every
 * path it binds, and a tool under a write grant writes as that user. Judged from the mode bits
 * of the path and each of its ancestors (owner, group, others; the sandbox user has no
 * supplementary groups: the launch drops them). ACLs are not read: a path that only an ACL opens
 * is reported unreachable, and the remedy names the mode bits to change.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { SandboxIdentity } from './identity.js';

/** What the sandbox needs of a path. */
export type Reach = 'read' | 'write' | 'exec';

const R = 4;
const W = 2;
const X = 1;

/**
 * Why `identity` cannot `need` the path, or undefined when it can (or the path does not exist:
 * a missing grant is skipped, as on the host). Root (uid 0) reaches everything.
 */
export function unreachable(
  path: string,
  identity: Pick<SandboxIdentity, 'uid' | 'gid'>,
  need: Reach,
): string | undefined {
  if (identity.uid === 0) return undefined;
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const why = lacking(dir, identity, X, 'enter');
    if (why !== undefined) return why;
    if (dir === dirname(dir)) break;
  }
  const stats = statOf(real);
  if (stats === undefined) return undefined;
  const bits =
    need === 'exec'
      ? X
      : need === 'write'
        ? W | (stats.isDirectory() ? X : 0)
        : R | (stats.isDirectory() ? X : 0);
  return lacking(real, identity, bits, need === 'exec' ? 'execute' : need);
}

function lacking(
  path: string,
  identity: Pick<SandboxIdentity, 'uid' | 'gid'>,
  bits: number,
  verb: string,
): string | undefined {
  const stats = statOf(path);
  if (stats === undefined) return undefined;
  const shift = stats.uid === identity.uid ? 6 : stats.gid === identity.gid ? 3 : 0;
  const granted = (stats.mode >> shift) & 7;
  if ((granted & bits) === bits) return undefined;
  const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
  return `uid ${identity.uid} cannot ${verb} ${path} (mode ${mode}, owner ${stats.uid}:${stats.gid})`;
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
