/**
 * The common reasons a sandbox cannot start or cannot limit, each with its remedy: for `doctor`
 * and for the message of a refused launch. Read from the machine, never changed.
 */
import { existsSync } from 'node:fs';
import { readOr } from './cgroup-files.js';

/** One thing in the way, and what to do about it. */
export interface Blocker {
  readonly what: string;
  readonly remedy: string;
}

/** Why unprivileged user namespaces (bwrap's `--unshare-user`) may be refused here. */
export function userNamespaceBlockers(read: (path: string) => string = readOr): Blocker[] {
  const found: Blocker[] = [];
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns').trim() === '1') {
    found.push({
      what: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu ≥ 23.10)',
      remedy:
        'give bwrap an AppArmor profile that allows `userns` (Ubuntu ships one with bubblewrap ≥ 0.9 in /etc/apparmor.d/bwrap-userns-restrict), or run the manager as root',
    });
  }
  if (read('/proc/sys/kernel/unprivileged_userns_clone').trim() === '0') {
    found.push({
      what: 'unprivileged user namespaces are off (kernel.unprivileged_userns_clone=0)',
      remedy: 'sysctl -w kernel.unprivileged_userns_clone=1 (persist it in /etc/sysctl.d/)',
    });
  }
  if (read('/proc/sys/user/max_user_namespaces').trim() === '0') {
    found.push({
      what: 'no user namespaces may be created (user.max_user_namespaces=0)',
      remedy: 'sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)',
    });
  }
  if (inContainer(read)) {
    found.push({
      what: "this looks like a container: its seccomp profile may refuse creating namespaces (Docker's default profile does)",
      remedy:
        'run the container with a seccomp profile that allows clone/unshare with namespace flags (see examples/deploy/), not --privileged',
    });
  }
  return found;
}

/** True when /sys/fs/cgroup is mounted read-only (a container's default). */
export function cgroupFsReadOnly(read: (path: string) => string = readOr): boolean {
  for (const line of read('/proc/self/mountinfo').split('\n')) {
    const fields = line.split(' ');
    if (fields[4] === '/sys/fs/cgroup') return (fields[5] ?? '').split(',').includes('ro');
  }
  return false;
}

function inContainer(read: (path: string) => string): boolean {
  if (existsSync('/.dockerenv') || existsSync('/run/.containerenv')) return true;
  return /docker|kubepods|containerd|libpod/.test(read('/proc/1/cgroup'));
}

/** The blockers as one sentence for a refusal's message ('' when none was found). */
export function describeBlockers(blockers: readonly Blocker[]): string {
  return blockers.map((b) => `${b.what}: ${b.remedy}`).join('; ');
}
