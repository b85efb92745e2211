/**
 * `toolcage doctor`: what this machine offers for enforcement, as rows a person can act on
 * (printed by src/cli/doctor.ts).
 */
import { readFileSync } from 'node:fs';
import type { Component, SandboxCapabilities } from './detect.js';

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
): DoctorRow[] {
  return [
    row(
      'platform',
      caps.platform === 'linux',
      caps.platform,
      "the sandbox needs Linux; elsewhere only `sandbox: 'none'` runs",
    ),
    ...bubblewrapRows(caps),
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
    ...(egress === undefined
      ? []
      : [
          row(
            'network allow-lists',
            egress.available,
            egress.available ? `enforced: ${egress.detail}` : egress.detail,
            '`permissions.net` as a list needs a working bubblewrap sandbox (see above) and a short TMPDIR (the proxy socket path must fit 107 bytes); `net: true` and `net: false` do not',
          ),
        ]),
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
  const works = row(
    'bubblewrap sandbox',
    bwrap.works,
    bwrap.works ? 'a trivial sandbox starts' : bwrap.detail,
    'allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0; on Ubuntu 24.04 an AppArmor profile for bwrap), or run as root',
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

// The memory and pids controllers, and on v2 whether joining a cgroup may wait.
function cgroupRows(caps: SandboxCapabilities, mounts: string): DoctorRow[] {
  const { cgroup } = caps;
  const rows = [
    row(
      'memory cgroup',
      cgroup.memory,
      cgroup.detail,
      cgroup.version === 'v2'
        ? 'enable the memory controller for a subtree writable by this user (systemd: Delegate=yes), or run as root'
        : 'mount the memory controller (cgroup v1) or cgroup v2, writable by this user (run as root)',
    ),
    row(
      'pids cgroup',
      cgroup.pids,
      cgroup.pids ? 'process limit available' : cgroup.detail,
      'enable the pids controller as for memory',
    ),
  ];
  // On v1 a tool process joins its cgroups by thread (`tasks`), which never waits for the
  // kernel's RCU grace period; on v2 the launcher starts it inside its cgroup, and only a process
  // spawned before the launcher is up (or after it failed) joins (see cgroup-v2.ts).
  if (cgroup.version === 'v2' && cgroup.available) {
    const favored = /\bfavordynmods\b/.test(mounts);
    rows.push(
      row(
        'cgroup migration',
        favored,
        favored
          ? 'favordynmods set'
          : 'favordynmods not set: a process spawned before the launcher is up joins its cgroup, which may wait for an RCU grace period (~10 ms measured on Linux 6.18); the launcher starts processes inside theirs',
        'mount -o remount,favordynmods /sys/fs/cgroup (Linux ≥ 6.0; the setting is global)',
        true,
      ),
    );
  }
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
