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
 * allow-list probe (network/probe.ts), when it ran.
 */
export function doctorRows(
  caps: SandboxCapabilities,
  mounts = readMounts(),
  egress?: Component,
): DoctorRow[] {
  const rows: DoctorRow[] = [];
  const row = (
    component: string,
    ok: boolean,
    detail: string,
    fix: string,
    warnOnly = false,
  ): void => {
    rows.push({
      component,
      status: ok ? 'ok' : warnOnly ? 'warn' : 'missing',
      detail,
      fix: ok ? '' : fix,
    });
  };
  row(
    'platform',
    caps.platform === 'linux',
    caps.platform,
    "the sandbox needs Linux; elsewhere only `sandbox: 'none'` runs",
  );
  row(
    'bubblewrap',
    caps.bwrap.path !== undefined,
    caps.bwrap.path === undefined
      ? caps.bwrap.detail
      : `${caps.bwrap.path} ${caps.bwrap.version ?? ''}`.trim(),
    'apt-get install bubblewrap (Fedora: dnf install bubblewrap)',
  );
  if (caps.bwrap.path !== undefined) {
    row(
      'bubblewrap sandbox',
      caps.bwrap.works,
      caps.bwrap.works ? 'a trivial sandbox starts' : caps.bwrap.detail,
      'allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0; on Ubuntu 24.04 an AppArmor profile for bwrap), or run as root',
    );
  }
  if (caps.bwrap.works) {
    row(
      'scratch cap (bwrap)',
      caps.bwrap.tmpfsSize,
      caps.bwrap.tmpfsSize
        ? 'the private /tmp is a tmpfs of limits.tmpMb (its pages count toward memoryMb)'
        : 'bubblewrap cannot size a tmpfs (< 0.7, or setuid): the private /tmp is bounded by memoryMb only',
      'upgrade bubblewrap to ≥ 0.7 (not setuid) for limits.tmpMb',
      true,
    );
  }
  // Stated on every machine: an unsandboxed execution's temp dir is a host directory.
  row(
    'scratch cap (none)',
    false,
    "not enforced with sandbox: 'none': the private temp dir is a host directory; only maxFileSizeMb bounds each file",
    "use sandbox: 'auto' or 'bwrap' to cap a tool's scratch space (limits.tmpMb)",
    true,
  );
  row(
    'user namespaces',
    caps.userNamespaces.available,
    caps.userNamespaces.detail,
    'sysctl -w user.max_user_namespaces=10000 (optional as root: the tool then runs as root without capabilities)',
    caps.uid === 0,
  );
  row(
    'memory cgroup',
    caps.cgroup.memory,
    caps.cgroup.detail,
    caps.cgroup.version === 'v2'
      ? 'enable the memory controller for a subtree writable by this user (systemd: Delegate=yes), or run as root'
      : 'mount the memory controller (cgroup v1) or cgroup v2, writable by this user (run as root)',
  );
  row(
    'pids cgroup',
    caps.cgroup.pids,
    caps.cgroup.pids ? 'process limit available' : caps.cgroup.detail,
    'enable the pids controller as for memory',
  );
  // On v1 a tool process joins its cgroups by thread (`tasks`), which never waits for the
  // kernel's RCU grace period; v2 has no such path (see ExecutionCgroups.joinFiles).
  if (caps.cgroup.version === 'v2' && caps.cgroup.available) {
    const favored = /\bfavordynmods\b/.test(mounts);
    row(
      'cgroup migration',
      favored,
      favored
        ? 'favordynmods set'
        : 'favordynmods not set: joining a cgroup may wait for an RCU grace period (~10 ms measured on Linux 6.18)',
      'mount -o remount,favordynmods /sys/fs/cgroup (Linux ≥ 6.0; the setting is global)',
      true,
    );
  }
  row(
    'shell',
    caps.shell.available,
    caps.shell.detail,
    'install dash or bash as /bin/sh (it applies cgroups and rlimits before exec)',
  );
  row(
    'seccomp',
    caps.seccomp.available,
    caps.seccomp.detail,
    'subprocess denial needs x86_64 or arm64',
  );
  if (egress !== undefined) {
    row(
      'network allow-lists',
      egress.available,
      egress.available ? `enforced: ${egress.detail}` : egress.detail,
      '`permissions.net` as a list needs a working bubblewrap sandbox (see above) and a short TMPDIR (the proxy socket path must fit 107 bytes); `net: true` and `net: false` do not',
    );
  }
  row(
    'prlimit',
    caps.prlimit.available,
    caps.prlimit.detail,
    'apt-get install util-linux (optional)',
    true,
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
