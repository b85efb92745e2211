/**
 * Which host user a sandbox runs as. The sandbox's user namespace maps uid 65534 inside to the
 * uid that started bwrap outside, so a manager running as root would run its tools as host root
 * without capabilities: root to every permission check on a host object (`/proc/sys`, a file
 * under a write grant). A root manager therefore starts its sandboxes as an unprivileged user —
 * `sandboxUser`, else `TOOLCAGE_SANDBOX_USER`, else `nobody` — and only an explicit `root` keeps
 * host root, flagged in `enforcement.user` and by `doctor` (README, "Which user runs a sandbox").
 */
import { readFileSync } from 'node:fs';
import { nonEmpty } from '../errors/expect.js';

/** The host user a sandbox runs as. */
export interface SandboxIdentity {
  readonly uid: number;
  readonly gid: number;
  /** The account's name, or the number when it has none. */
  readonly name: string;
  /** True when it differs from the manager's own uid: the launch switches to it. */
  readonly switched: boolean;
  /** True when the sandbox runs as host root (an explicit opt-in). */
  readonly hostRoot: boolean;
}

/** The default sandbox user of a root manager. */
export const DEFAULT_SANDBOX_USER = 'nobody';

/**
 * Resolves the sandbox's host user. `requested` is a name from /etc/passwd or `uid[:gid]`.
 * Throws an Error naming what is wrong (an unknown user, or a switch only root can make).
 */
export function resolveSandboxIdentity(
  requested: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  own: { uid: number; gid: number } = ownIds(),
  passwd: () => string = () => readFileSync('/etc/passwd', 'utf8'),
): SandboxIdentity {
  const wanted = requested ?? nonEmpty(env['TOOLCAGE_SANDBOX_USER']);
  if (own.uid !== 0) {
    if (wanted === undefined) return identity(own.uid, own.gid, String(own.uid), own.uid);
    const user = lookUp(wanted, passwd);
    if (user.uid !== own.uid) {
      throw new Error(
        `the sandbox user \`${wanted}\` (uid ${user.uid}) can be chosen only by a manager running as root; this one runs as uid ${own.uid}, and its sandboxes run as that uid`,
      );
    }
    return identity(user.uid, user.gid, user.name, own.uid);
  }
  const user = lookUp(wanted ?? DEFAULT_SANDBOX_USER, passwd);
  return identity(user.uid, user.gid, user.name, own.uid);
}

function identity(uid: number, gid: number, name: string, ownUid: number): SandboxIdentity {
  return { uid, gid, name, switched: uid !== ownUid, hostRoot: uid === 0 };
}

function ownIds(): { uid: number; gid: number } {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

// A name from /etc/passwd, or `uid[:gid]` (gid defaults to the uid's primary group, else the uid).
function lookUp(wanted: string, passwd: () => string): { uid: number; gid: number; name: string } {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(wanted);
  const entries = parsePasswd(passwd);
  if (numeric !== null) {
    const uid = Number(numeric[1]);
    const entry = entries.find((e) => e.uid === uid);
    const gid = numeric[2] !== undefined ? Number(numeric[2]) : (entry?.gid ?? uid);
    return { uid, gid, name: entry?.name ?? String(uid) };
  }
  const entry = entries.find((e) => e.name === wanted);
  if (entry === undefined) {
    throw new Error(
      `the sandbox user \`${wanted}\` does not exist (not in /etc/passwd); create it (\`useradd --system --no-create-home ${wanted}\`) or name another with \`sandboxUser\` / TOOLCAGE_SANDBOX_USER (a name, or uid:gid)`,
    );
  }
  return entry;
}

function parsePasswd(passwd: () => string): { name: string; uid: number; gid: number }[] {
  let text: string;
  try {
    text = passwd();
  } catch {
    return [];
  }
  const entries: { name: string; uid: number; gid: number }[] = [];
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    entries.push({ name, uid: Number(uid), gid: Number(gid) });
  }
  return entries;
}
