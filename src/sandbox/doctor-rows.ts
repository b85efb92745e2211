/**
 * `toolcage doctor`: what this machine offers for enforcement, as rows a person can act on
 * (printed by src/cli/doctor.ts).
 */
import { readFileSync } from 'node:fs';
import { cgroupFsReadOnly, describeBlockers, userNamespaceBlockers } from './blockers.js';
import type { Component, SandboxCapabilities } from './detect.js';
import type { SandboxIdentity } from './identity.js';
import { unreachable, type Reach } from './reach.js';

/** Who runs the sandboxes, and what of the runtime that user must reach (for `doctor`). */
export interface DoctorIdentity {
  /** The sandbox user, or why it could not be resolved. */
  readonly identity: SandboxIdentity | { readonly error: string };
  /** Paths every sandbox binds or writes (Bun, the worker, the build cache), and how. */
  readonly paths: readonly { readonly path: string; readonly need: Reach }[];
}

/** One row of the report. */
export interface DoctorRow {
  readonly component: string;
  readonly status: 'ok' | 'missing' | 'warn';
  readonly detail: string;
  /** What to do about it (empty when nothing). */
  readonly fix: string;
}

/**
 * The rows of the report, for a caller that wants them as data. `egress` is the result of the
 * allow-list probe (egress-probe.ts), when it ran.
 */
export function doctorRows(
  caps: SandboxCapabilities,
  mounts = readMounts(),
  egress?: Component,
  who?: DoctorIdentity,
): DoctorRow[] {
  return [
    row(
      'platform',
      caps.platform === 'linux',
      caps.platform,
      "the sandbox needs Linux; elsewhere only `sandbox: 'none'` runs",
    ),
    ...bubblewrapRows(caps),
    ...(who === undefined ? [] : identityRows(who)),
    // Stated on every machine: an unsandboxed execution's temp dir is a host directory.
    row(
      'scratch cap (none)',
      false,
      "not enforced with sandbox: 'none': the private temp dir is a host directory; only maxFileSizeMb bounds each file",
      "use sandbox: 'auto' or 'bwrap' to cap a tool's scratch space (limits.tmpMb)",
      true,
    ),
    row(
      'user namespaces',
      caps.userNamespaces.available,
      caps.userNamespaces.detail,
      'sysctl -w user.max_user_namespaces=10000 (optional as root: the tool then runs as root without capabilities)',
      caps.uid === 0,
    ),
    ...cgroupRows(caps, mounts),
    row(
      'shell',
      caps.shell.available,
      caps.shell.detail,
      'install dash or bash as /bin/sh (it applies cgroups and rlimits before exec)',
    ),
    row(
      'seccomp',
      caps.seccomp.available,
      caps.seccomp.detail,
      'subprocess denial needs x86_64 or arm64',
    ),
    ...(egress === undefined ? [] : [egressRow(egress)]),
    row(
      'prlimit',
      caps.prlimit.available,
      caps.prlimit.detail,
      'apt-get install util-linux (optional)',
      true,
    ),
  ];
}

// One row: `ok`, else `missing` (or `warn` when the component is optional), with its fix.
function row(
  component: string,
  ok: boolean,
  detail: string,
  fix: string,
  warnOnly = false,
): DoctorRow {
  return {
    component,
    status: ok ? 'ok' : warnOnly ? 'warn' : 'missing',
    detail,
    fix: ok ? '' : fix,
  };
}

// bwrap itself, and (when it is there) whether a trivial sandbox starts and can cap its /tmp.
function bubblewrapRows(caps: SandboxCapabilities): DoctorRow[] {
  const { bwrap } = caps;
  const found = row(
    'bubblewrap',
    bwrap.path !== undefined,
    bwrap.path === undefined ? bwrap.detail : `${bwrap.path} ${bwrap.version ?? ''}`.trim(),
    'apt-get install bubblewrap (Fedora: dnf install bubblewrap)',
  );
  if (bwrap.path === undefined) return [found];
  const blockers = describeBlockers(userNamespaceBlockers());
  const works = row(
    'bubblewrap sandbox',
    bwrap.works,
    bwrap.works ? 'a trivial sandbox starts' : bwrap.detail,
    blockers === ''
      ? 'allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0; on Ubuntu ≥ 23.10 an AppArmor profile for bwrap)'
      : blockers,
  );
  if (!bwrap.works) return [found, works];
  const scratch = row(
    'scratch cap (bwrap)',
    bwrap.tmpfsSize,
    bwrap.tmpfsSize
      ? 'the private /tmp is a tmpfs of limits.tmpMb (its pages count toward memoryMb)'
      : 'bubblewrap cannot size a tmpfs (< 0.7, or setuid): the private /tmp is bounded by memoryMb only',
    'upgrade bubblewrap to ≥ 0.7 (not setuid) for limits.tmpMb',
    true,
  );
  return [found, works, scratch];
}

// The allow-list probe's verdict (egress-probe.ts).
function egressRow(egress: Component): DoctorRow {
  return row(
    'network allow-lists',
    egress.available,
    egress.available ? `enforced: ${egress.detail}` : egress.detail,
    '`permissions.net` as a list needs a working bubblewrap sandbox (see above) and a short TMPDIR (the proxy socket path must fit 107 bytes); `net: true` and `net: false` do not',
  );
}

// The memory and pids controllers, and on v2 whether joining a cgroup may wait.
function cgroupRows(caps: SandboxCapabilities, mounts: string): DoctorRow[] {
  const { cgroup } = caps;
  const readOnly = cgroupFsReadOnly()
    ? ' /sys/fs/cgroup is mounted read-only (a container?): mount it read-write for the container, or use cgroupParent.'
    : '';
  const delegate = `delegate a subtree to this user: systemd \`Delegate=yes\` (cgroup v2), or mkdir + chown -R under each v1 controller and start the manager inside; or set cgroupParent (see "Running as a service" in the README).${readOnly}`;
  // Without a writable cgroup the sandbox still runs: the limits fall back to rlimits (warn).
  const rows = [
    row(
      'memory cgroup',
      cgroup.memory,
      cgroup.memory
        ? cgroup.detail
        : `${cgroup.detail}. Memory is bounded by RLIMIT_DATA instead (at least 320 MiB, about half of it usable as heap; enforcement.memory says rlimit-data)`,
      delegate,
      true,
    ),
    row(
      'pids cgroup',
      cgroup.pids,
      cgroup.pids
        ? 'process limit available'
        : `${cgroup.detail}. Processes are bounded by seccomp (no \`run\`) or by RLIMIT_NPROC in the sandbox's user namespace (\`run\`)`,
      delegate,
      true,
    ),
  ];
  // On v1 a tool process joins its cgroups by thread (`tasks`), which never waits for the
  // kernel's RCU grace period; on v2 the launcher starts it inside its cgroup, and only the
  // fallback prologue, where the launcher cannot run, joins (see cgroup-v2.ts).
  if (cgroup.version === 'v2' && cgroup.available) {
    const favored = /\bfavordynmods\b/.test(mounts);
    rows.push(
      row(
        'cgroup migration',
        favored,
        favored
          ? 'favordynmods set'
          : 'favordynmods not set: where the launcher cannot run, the fallback prologue joins its cgroup, which may wait for an RCU grace period (docs/service.md); the launcher starts processes inside theirs',
        'mount -o remount,favordynmods /sys/fs/cgroup (Linux ≥ 6.0; the setting is global)',
        true,
      ),
    );
  }
  return rows;
}

// Who the sandbox runs as (loud when host root), and whether it reaches what it must bind.
function identityRows(who: DoctorIdentity): DoctorRow[] {
  const { identity } = who;
  if ('error' in identity) {
    return [
      row(
        'sandbox user',
        false,
        identity.error,
        'name an existing user with sandboxUser or TOOLCAGE_SANDBOX_USER',
      ),
    ];
  }
  const user = `${identity.name} (uid ${identity.uid}, gid ${identity.gid})`;
  const rows = [
    identity.hostRoot
      ? row(
          'sandbox user',
          false,
          `HOST ROOT: sandboxUser is root, so every tool runs as host root without capabilities (writable host files, root-owned files under write grants). Not recommended`,
          'drop sandboxUser: root (the default for a root manager is nobody; a dedicated account is better: useradd --system toolcage-sandbox, then sandboxUser: toolcage-sandbox)',
          true,
        )
      : row(
          'sandbox user',
          true,
          identity.switched
            ? `${user}: this root manager starts its sandboxes as that user (grants must be readable/writable by it)`
            : `${user}: the manager's own user`,
          '',
        ),
  ];
  const blocked = who.paths
    .map(({ path, need }) => unreachable(path, identity, need))
    .filter((why): why is string => why !== undefined);
  rows.push(
    row(
      'sandbox user reaches the runtime',
      blocked.length === 0,
      blocked.length === 0 ? 'Bun, the worker and the build cache' : blocked.join('; '),
      `make those paths readable (the cache writable) by ${identity.name}: chmod o+x on the parent directories, or move the project out of a private home`,
    ),
  );
  return rows;
}

/** The cgroup lines of the mount table (where `favordynmods` shows). */
export function readMounts(): string {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((l) => /\bcgroup2?\b/.test(l))
      .join('\n');
  } catch {
    return '';
  }
}
