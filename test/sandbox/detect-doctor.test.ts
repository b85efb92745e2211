import { describe, expect, test } from 'vitest';
import { detectCapabilities, type SandboxCapabilities } from '../../src/sandbox/detect.js';
import { renderDoctor } from '../../src/cli/doctor.js';
import { doctorRows } from '../../src/sandbox/doctor-rows.js';
import { lstatSync } from 'node:fs';
import { findProcCovers, parseLdd } from '../../src/sandbox/system-view.js';

const healthy: SandboxCapabilities = {
  platform: 'linux',
  uid: 0,
  bwrap: {
    available: true,
    works: true,
    path: '/usr/bin/bwrap',
    version: '0.8.0',
    tmpfsSize: true,
    detail: '/usr/bin/bwrap 0.8.0',
  },
  userNamespaces: { available: true, detail: 'bwrap --unshare-user works' },
  cgroup: {
    available: true,
    version: 'v1',
    memory: true,
    pids: true,
    cpu: true,
    via: 'root',
    layout: { version: 'v1', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' },
    detail: 'cgroup v1 at /sys/fs/cgroup, writable: memory, pids, cpu',
  },
  shell: { available: true, path: '/bin/sh', detail: '/bin/sh' },
  prlimit: { available: true, path: '/usr/bin/prlimit', detail: '/usr/bin/prlimit' },
  setpriv: { available: true, path: '/usr/bin/setpriv', detail: '/usr/bin/setpriv' },
  seccomp: { available: true, arch: 'x64', detail: 'classic BPF filter for x64' },
};

describe('renderDoctor', () => {
  test('a healthy machine', () => {
    const text = renderDoctor(healthy, {
      mounts: 'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,favordynmods 0 0',
    });
    expect(text).toMatch(/^component\s+status\s+detail\s+how to fix/);
    expect(text).toMatch(/bubblewrap\s+ok\s+\/usr\/bin\/bwrap 0\.8\.0/);
    expect(text).toContain('fully enforced');
  });

  test('no bubblewrap: says how to install it and that sandboxed runs are refused', () => {
    const caps: SandboxCapabilities = {
      ...healthy,
      bwrap: {
        available: false,
        works: false,
        path: undefined,
        version: undefined,
        tmpfsSize: false,
        detail: 'bwrap not found on PATH',
      },
    };
    const text = renderDoctor(caps, { mounts: '' });
    expect(text).toMatch(
      /bubblewrap\s+missing\s+bwrap not found on PATH\s+apt-get install bubblewrap/,
    );
    expect(text).toContain('refused (spawn_failed) until fixed: bubblewrap');
  });

  test('fits an 80-column terminal, wrapping detail and fix without losing a word', () => {
    const caps: SandboxCapabilities = {
      ...healthy,
      bwrap: {
        ...healthy.bwrap,
        works: false,
        detail: 'bwrap: setting up uid map: Permission denied',
      },
    };
    const text = renderDoctor(caps, { mounts: '', width: 80 });
    const [table] = text.split('\n\n');
    for (const line of table!.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // A column's characters, read down the table (a word longer than the column is broken
    // inside, so spaces cannot be compared).
    const lines = table!.split('\n');
    const column = (from: string, to?: string): string =>
      lines
        .slice(2)
        .map((line) =>
          line.slice(lines[0]!.indexOf(from), to === undefined ? undefined : lines[0]!.indexOf(to)),
        )
        .join('')
        .replace(/\s+/g, '');
    const fix = doctorRows(caps, '').find((row) => row.component === 'bubblewrap sandbox')!.fix;
    expect(column('how to fix')).toContain(fix.replace(/\s+/g, ''));
    expect(column('detail', 'how to fix')).toContain('bwrap:settingupuidmap:Permissiondenied');
  });

  test('cgroup v2 without favordynmods is a warning, not a refusal', () => {
    const v2: SandboxCapabilities = {
      ...healthy,
      cgroup: {
        ...healthy.cgroup,
        version: 'v2',
        layout: { version: 'v2', root: '/sys/fs/cgroup', memory: true, pids: true },
      },
    };
    const row = doctorRows(v2, 'cgroup2 /sys/fs/cgroup cgroup2 rw 0 0').find(
      (r) => r.component === 'cgroup migration',
    );
    expect(row).toMatchObject({ status: 'warn' });
    expect(row?.fix).toContain('favordynmods');
  });

  test('the scratch cap: enforced by a sized tmpfs under bwrap, said not to be without the sandbox', () => {
    const rows = doctorRows(healthy, '');
    expect(rows.find((r) => r.component === 'scratch cap (bwrap)')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('tmpfs of limits.tmpMb') as unknown,
    });
    expect(rows.find((r) => r.component === 'scratch cap (none)')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining("not enforced with sandbox: 'none'") as unknown,
    });
    const old = doctorRows({ ...healthy, bwrap: { ...healthy.bwrap, tmpfsSize: false } }, '');
    expect(old.find((r) => r.component === 'scratch cap (bwrap)')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('≥ 0.7') as unknown,
    });
    expect(renderDoctor(healthy, { mounts: '' })).toContain('fully enforced');
  });

  test('cgroup v1 needs no favordynmods: tools join by thread, off the slow path', () => {
    const rows = doctorRows(healthy, 'cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0');
    expect(rows.find((r) => r.component === 'cgroup migration')).toBeUndefined();
  });
});

describe('detection on this machine', () => {
  test('finds what it finds, consistently and once', async () => {
    const first = await detectCapabilities();
    expect(await detectCapabilities()).toBe(first);
    expect(first.platform).toBe(process.platform);
    if (first.bwrap.path !== undefined) expect(first.bwrap.version).toMatch(/^\d+\.\d+/);
    // bubblewrap 0.8 (Debian 12, CI) sizes a tmpfs: the scratch cap is enforced there.
    if (first.bwrap.works && /^0\.([7-9]|\d\d)|^[1-9]/.test(first.bwrap.version ?? '')) {
      expect(first.bwrap.tmpfsSize).toBe(true);
    }
  });
});

test('parseLdd', () => {
  const output = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f)',
    '\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f)',
  ].join('\n');
  expect(parseLdd(output)).toEqual([
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/lib64/ld-linux-x86-64.so.2',
    '/lib/x86_64-linux-gnu/libm.so.6',
  ]);
});

// On this machine's /proc: what a plain user's permission checks leave open keeps its cover.
test('findProcCovers: a plain user keeps the covers of what any user may read, and /proc/sys', () => {
  const { all, anyUser } = findProcCovers();
  const others = (path: string): number => lstatSync(path).mode & 0o007;
  expect(anyUser.readOnly).toContain('/proc/sys');
  for (const path of anyUser.readOnly) expect(all.readOnly).toContain(path);
  for (const entry of all.masked) {
    const readable = (others(entry.path) & 0o004) !== 0;
    expect(anyUser.masked.includes(entry), entry.path).toBe(readable);
  }
  // kallsyms is mode 0444 wherever it exists: its cover never depends on the user.
  if (all.masked.some((entry) => entry.path === '/proc/kallsyms')) {
    expect(anyUser.masked.map((entry) => entry.path)).toContain('/proc/kallsyms');
  }
});
