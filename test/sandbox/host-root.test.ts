/**
 * A sandbox must never be host root, and each wall against it stands on its own: the identity
 * (a root manager runs its sandboxes as an unprivileged user), the /proc covers (read-only knobs,
 * masked internals — tested with the explicit `sandboxUser: 'root'`, so that they alone hold),
 * and seccomp (no setuid/setgid bit, no execute bit without `run`). Real bwrap, real Bun, both
 * spawn ways. Nothing here writes a kernel knob: a knob is only opened for writing, never written.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { launcherUnavailable } from '../helpers/plans.js';
import { fixtureRuntime } from '../helpers/runtime.js';
import { settledLeftovers } from '../helpers/leaks.js';
import {
  CGROUPS,
  output,
  runFixture,
  sandboxAvailability,
  SPAWN_WAYS,
  type SpawnWay,
} from './harness.js';

const available = await sandboxAvailability();
const isRoot = process.getuid?.() === 0;
const ROOT_OPT_IN = { runtime: { sandboxUser: 'root' } } as const;

describe.skipIf(!available.ok).each(SPAWN_WAYS)('the sandbox is not host root, %s spawn', (way) => {
  const run = (fixture: string, options?: Parameters<typeof runFixture>[2]) =>
    runFixture(way, fixture, options);
  let scratch = '';
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sbx-root-'));
    chmodSync(scratch, 0o777);
  });
  afterEach(async () => {
    rmSync(scratch, { recursive: true, force: true });
    const left = await settledLeftovers(Number.MAX_SAFE_INTEGER, 5_000);
    expect(left.processes).toEqual([]);
    expect(left.cgroups).toEqual([]);
  });

  test('with default permissions no kernel knob (/proc/sys, irq, bus, fs) opens for writing', async () => {
    const seen = output(await run('sandbox-proc-sys-write.ts')) as {
      writable: string[];
      checked: number;
    };
    expect(seen.checked).toBeGreaterThan(100);
    expect(seen.writable).toEqual([]);
  });

  // `sandboxUser: 'root'` is a root manager's choice only: these run where it can be made.
  test.runIf(isRoot)(
    'the /proc covers alone hold the kernel knobs read-only, even for an explicit root sandbox',
    async () => {
      const result = await run('sandbox-proc-sys-write.ts', ROOT_OPT_IN);
      const seen = output(result) as { writable: string[]; checked: number };
      expect(seen.checked).toBeGreaterThan(100);
      expect(seen.writable).toEqual([]);
      if (isRoot && result.ok) expect(result.enforcement.user.hostRoot).toBe(true);
    },
  );

  test.each([
    ['the sandbox user', {}],
    ...(isRoot ? ([['the masks alone (explicit root sandbox)', ROOT_OPT_IN]] as const) : []),
  ] as const)('root-only /proc files are unreadable: %s', async (_, options) => {
    const seen = output(await run('sandbox-proc-secrets.ts', options)) as Record<string, string>;
    for (const [path, what] of Object.entries(seen)) {
      expect(what, path).not.toBe('read');
    }
  });

  test.each([
    ['the sandbox user', {}],
    ...(isRoot ? ([['an explicit root sandbox', ROOT_OPT_IN]] as const) : []),
  ] as const)(
    '/dev holds the usual devices, nothing to write to and no terminal to open: %s',
    async (_, options) => {
      expect(output(await run('sandbox-dev.ts', options))).toEqual({
        entries: [
          'fd',
          'full',
          'null',
          'random',
          'shm',
          'stderr',
          'stdin',
          'stdout',
          'urandom',
          'zero',
        ],
        null: 'ok',
        zero: 'zeros',
        urandom: 'bytes',
        random: 'bytes',
        full: 'ENOSPC',
        fd: '/proc/self/fd',
        // bwrap's own --dev left /dev writable by the tool (memory outside `tmpMb`) and opened
        // /dev/ptmx: both observed before this /dev.
        createInDev: 'EROFS',
        shm: 'in /tmp',
        '/dev/ptmx': 'ENOENT',
        '/dev/pts/ptmx': 'ENOENT',
        '/dev/tty': 'ENOENT',
        '/dev/console': 'ENOENT',
      });
    },
  );

  test('under a write grant: the file is the sandbox user’s, and no setuid/setgid bit reaches the host', async () => {
    const result = await run('sandbox-setuid.ts', {
      input: { dir: scratch },
      permissions: { write: [scratch] },
    });
    expect(output(result)).toEqual({
      create: 'ok',
      chmodSetuid: 'EPERM',
      chmodSetgid: 'EPERM',
      createSetuid: 'EPERM',
    });
    for (const name of readdirSync(scratch)) {
      const stats = statSync(join(scratch, name));
      expect(stats.mode & 0o6000, name).toBe(0);
      if (isRoot) expect(stats.uid, name).not.toBe(0);
    }
    if (isRoot && result.ok) {
      expect(statSync(join(scratch, 'plain')).uid).toBe(result.enforcement.user.uid);
      expect(result.enforcement.user).toMatchObject({ name: 'nobody', hostRoot: false });
    }
  });

  test.runIf(isRoot)(
    'seccomp alone refuses setuid bits to an explicit root sandbox with `run`',
    async () => {
      const result = await run('sandbox-setuid.ts', {
        ...ROOT_OPT_IN,
        input: { dir: scratch },
        permissions: { write: [scratch], run: true },
      });
      expect(output(result)).toMatchObject({ chmodSetuid: 'EPERM', createSetuid: 'EPERM' });
      for (const name of readdirSync(scratch)) {
        expect(statSync(join(scratch, name)).mode & 0o6000, name).toBe(0);
      }
    },
  );

  test.runIf(process.arch === 'x64')('an ELF written to /tmp cannot be executed', async () => {
    const seen = output(await run('sandbox-exec-tmp.ts')) as Record<string, unknown>;
    expect(seen).toMatchObject({
      bornExecutable: 'EPERM',
      written: 'ok',
      chmod: 'EPERM',
      mode: '644',
    });
    // Under RLIMIT_DATA (no memory cgroup) JavaScriptCore runs without its JIT, and bun:ffi
    // with it: no execve to try then.
    if (seen['execve'] === 'no-ffi') expect(CGROUPS).toBe(false);
    else expect(seen).toMatchObject({ execve: -1, errno: 13 }); // EACCES
  });

  test('seen from the host, the tool runs as the sandbox user, mapped to no host root', async () => {
    const host = await hostView(way);
    expect(host.uidMap).not.toMatch(/^\s*\d+\s+0\s/);
    if (isRoot) expect(host.uid).toBe(65534);
    else expect(host.uid).toBe(process.getuid?.());
  });
});

// The tool process (a `forever` fixture) as the host sees it: its uid and its uid_map read by a
// process outside its namespaces (where the second column is a host uid).
async function hostView(way: SpawnWay): Promise<{ uid: number; uidMap: string }> {
  const runtime = fixtureRuntime({ sandbox: 'bwrap' });
  const controller = new AbortController();
  const restore = way === 'fallback' ? launcherUnavailable() : () => {};
  try {
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    const call = runtime
      .executeToolWithTimeout({
        toolPath: 'forever.ts',
        signal: controller.signal,
        onLog: (_stream, line) => line.includes('ready') && ready(),
      })
      .catch(() => undefined);
    await started;
    const pid = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .find((name) => {
        try {
          // Bun's own process (bwrap's two carry the same command line).
          const command = readFileSync(`/proc/${name}/cmdline`, 'utf8');
          const status = readFileSync(`/proc/${name}/status`, 'utf8');
          return command.includes('forever.ts') && !/^Name:\s+bwrap$/m.test(status);
        } catch {
          return false;
        }
      });
    expect(pid, 'the tool process is visible on the host').toBeDefined();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    const uidMap = readFileSync(`/proc/${pid}/uid_map`, 'utf8');
    controller.abort();
    await call;
    return { uid, uidMap };
  } finally {
    restore();
    await runtime.close();
  }
}
