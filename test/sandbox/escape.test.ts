/**
 * Real escape attempts: real bubblewrap, real cgroups, real Bun, one behaviour per fixture, each
 * through `createToolRuntime` started both ways (its launcher, and the fallback Node spawns). Expectations
 * follow this machine's cgroup version. After each test nothing may be left: no processes, no
 * temp dirs, no cgroups.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { OWNER, openFds } from '../helpers/leaks.js';
import {
  CGROUP_MECHANISM,
  CGROUPS,
  expectOutOfMemory,
  failure,
  memoryEnforced,
  processesEnforced,
  FIXTURES,
  output,
  refusedForks,
  runFixture as runThrough,
  sandboxAvailability,
  SPAWN_WAYS,
  type RunOptions,
  expectRunsLeftNothing,
} from './harness.js';

const available = await sandboxAvailability();

describe.skipIf(!available.ok).each(SPAWN_WAYS)(
  'sandbox escapes (bwrap, cgroups, seccomp), %s spawn',
  (way) => {
    const runFixture = (fixture: string, options?: RunOptions) => runThrough(way, fixture, options);
    let baselineFds = 0;
    let server: Server;
    let port = 0;
    let connections = 0;
    let scratch = '';

    beforeAll(async () => {
      server = createServer((_request, response) => response.end('pong'));
      server.on('connection', () => connections++);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      process.env['TOOLCAGE_TEST_SECRET'] = 'hunter2';
    });
    afterAll(async () => {
      delete process.env['TOOLCAGE_TEST_SECRET'];
      await new Promise((resolve) => server.close(resolve));
    });

    beforeEach(() => {
      baselineFds = openFds();
      connections = 0;
      scratch = mkdtempSync(join(tmpdir(), 'sbx-test-'));
      // A root manager's sandbox runs as `nobody` (sandbox/identity.ts): a grant must be its to use.
      chmodSync(scratch, 0o777);
    });
    afterEach(async () => {
      rmSync(scratch, { recursive: true, force: true });
      await expectRunsLeftNothing(baselineFds);
    });

    test('reading outside the view is permission_denied', async () => {
      const run = await runFixture('sandbox-read-outside.ts');
      const verdict = failure(run);
      expect(verdict.kind).toBe(ErrorKind.PermissionDenied);
      expect(verdict.message).toContain('read of /etc/passwd');
    });

    test('writing into the (read-only) tool directory is permission_denied and writes nothing', async () => {
      const target = `${FIXTURES}escape-probe.txt`;
      const run = await runFixture('sandbox-write-outside.ts', { input: { path: target } });
      expect(failure(run).kind).toBe(ErrorKind.PermissionDenied);
      expect(failure(run).message).toContain(`write of ${target}`);
      expect(existsSync(target)).toBe(false);
    });

    test('writing to a host path outside the view is permission_denied', async () => {
      // Not under /tmp: inside the sandbox /tmp is the tool's own private directory.
      const target = `/var/tmp/toolcage-escape-probe-${process.pid}.txt`;
      const run = await runFixture('sandbox-write-outside.ts', { input: { path: target } });
      expect(failure(run).kind).toBe(ErrorKind.PermissionDenied);
      expect(existsSync(target)).toBe(false);
    });

    test('an ungranted host path under /tmp is not there (its /tmp is its own), whether it exists on the host or not', async () => {
      // Inside, /tmp is the tool's own: the host's paths are not there (ENOENT). Whether such a
      // path exists on the host must not change the verdict: that would tell the caller, and so
      // the tool's author, what the host holds. The host's file stays out of reach either way.
      const hostDir = `/tmp/escape-probe-${process.pid}`;
      mkdirSync(hostDir);
      writeFileSync(`${hostDir}/secret.txt`, 'a host secret');
      try {
        const read = failure(
          await runFixture('sandbox-read-outside.ts', { input: { path: `${hostDir}/secret.txt` } }),
        );
        expect(read.kind).toBe(ErrorKind.ToolError);
        expect(read.toolError?.code).toBe('ENOENT');
        expect(JSON.stringify(read)).not.toContain('a host secret');
        const write = failure(
          await runFixture('sandbox-write-outside.ts', { input: { path: `${hostDir}/new.txt` } }),
        );
        expect(write.kind).toBe(ErrorKind.ToolError);
        expect(existsSync(`${hostDir}/new.txt`)).toBe(false);
      } finally {
        rmSync(hostDir, { recursive: true, force: true });
      }
      const missing = failure(
        await runFixture('sandbox-read-outside.ts', { input: { path: `${hostDir}/secret.txt` } }),
      );
      expect(missing.kind).toBe(ErrorKind.ToolError);
    });

    test.each([
      '/etc/toolcage-escape-probe.txt',
      '/toolcage-escape-probe.txt',
      '/usr/toolcage-probe',
    ])(
      'writing into the sandbox’s own root (%s) fails instead of landing in a throwaway tmpfs',
      async (target) => {
        const run = await runFixture('sandbox-write-outside.ts', { input: { path: target } });
        expect(failure(run).kind).toBe(ErrorKind.PermissionDenied);
        // Where the parent is not in the view at all (/usr without `run`) the kernel says ENOENT
        // for an open(O_CREAT), which cannot be told from a read: the message says "of <path>".
        expect(failure(run).message).toContain(` of ${target}`);
        expect(existsSync(target)).toBe(false);
      },
    );

    test('a loopback server of the host sees no connection without `net`', async () => {
      const run = await runFixture('sandbox-connect-loopback.ts', { input: { port } });
      const verdict = failure(run);
      expect(verdict.kind).toBe(ErrorKind.PermissionDenied);
      expect(verdict.message).toContain(`connect to 127.0.0.1:${port}`);
      expect(connections).toBe(0);
    });

    test('with `net: true` the tool reaches the loopback server', async () => {
      const run = await runFixture('sandbox-connect-loopback.ts', {
        input: { port },
        permissions: { net: true },
      });
      expect(output(run)).toBe('pong');
      expect(connections).toBe(1);
      expect(run).toMatchObject({ enforcement: { network: 'host' } });
    });

    test('the host environment is not visible; given variables are', async () => {
      const run = await runFixture('sandbox-read-host-env.ts', { env: { GRANTED: 'yes' } });
      const env = output(run) as Record<string, string>;
      expect(env['TOOLCAGE_TEST_SECRET']).toBeUndefined();
      expect(env['PATH']).toBeUndefined();
      expect(env['GRANTED']).toBe('yes');
      expect(env['TMPDIR']).toBe('/tmp');
      expect(env['HOME']).toBe('/tmp');
    });

    test('/proc shows neither the parent’s nor the host init’s environment', async () => {
      const run = await runFixture('sandbox-proc-environ.ts');
      const seen = output(run) as { parent: string; init: string };
      for (const text of [seen.parent, seen.init]) {
        expect(text).not.toContain('hunter2');
        expect(text).not.toContain('TOOLCAGE_TEST_SECRET');
        expect(text).not.toMatch(/(^|\0)PATH=/);
      }
    });

    test('only the sandbox’s own processes are visible', async () => {
      const run = await runFixture('sandbox-list-processes.ts');
      const processes = output(run) as string[];
      expect(processes.length).toBeLessThanOrEqual(3);
      // Not the host's vitest (`node (vitest 1)`); the sandbox's own bwrap does name the tests'
      // build cache (`.vitest-tmp/…`) among its binds.
      expect(processes.join('\n')).not.toMatch(/\(vitest|node_modules\/vitest/);
      expect(processes.join('\n')).not.toContain(String(process.pid));
    });

    test.each([
      ['bun', 'spawn of sh'],
      ['node', 'spawn of sh'],
      ['self', 'spawn of bun'],
    ] as const)('without `run`, a %s spawn is permission_denied', async (how, denied) => {
      const run = await runFixture('sandbox-spawn-shell.ts', { input: { how } });
      const verdict = failure(run);
      expect(verdict.kind).toBe(ErrorKind.PermissionDenied);
      expect(verdict.message).toContain(denied);
    });

    test.each(['bun', 'node'] as const)('with `run`, %s runs sh', async (how) => {
      const run = await runFixture('sandbox-spawn-shell.ts', {
        input: { how },
        permissions: { run: true },
      });
      expect(output(run)).toBe('hi');
    });

    test('a setsid grandchild is gone after the deadline', async () => {
      let ready = false;
      const run = await runFixture('sandbox-setsid-grandchild.ts', {
        permissions: { run: true },
        timeoutMs: 1_500,
        onLog: (_stream, line) => {
          if (line.startsWith('ready')) ready = true;
        },
      });
      expect(ready).toBe(true);
      expect(failure(run).kind).toBe(ErrorKind.Timeout);
    });

    // Without cgroups the bound is RLIMIT_NPROC: unprivileged.test.ts counts the processes.
    test.runIf(CGROUPS)(
      'a fork bomb is bounded by the pids cgroup and the host stays usable',
      async () => {
        const started = runFixture('sandbox-fork-bomb.ts', {
          permissions: { run: true },
          limits: { maxProcesses: 64 },
          timeoutMs: 5_000,
        });
        // Once the cgroup has refused a fork, the bomb is at its bound: the host must still work.
        await vi.waitFor(() => expect(refusedForks(64)).toBeGreaterThan(0), { timeout: 4_500 });
        expect(execFileSync('/bin/echo', ['host ok'], { encoding: 'utf8' }).trim()).toBe('host ok');
        const run = await started;
        expect(failure(run).kind).toBe(ErrorKind.Timeout);
      },
    );

    test('2 GiB under memoryMb 256 is out of memory', async () => {
      const run = await runFixture('sandbox-alloc-2gb.ts', { limits: { memoryMb: 256 } });
      expectOutOfMemory(failure(run));
    });

    test('spinning past cpuSeconds 1 is resource_limit cpu', async () => {
      const run = await runFixture('sandbox-spin.ts', { limits: { cpuSeconds: 1 } });
      const verdict = failure(run);
      expect(verdict.kind).toBe(ErrorKind.ResourceLimit);
      expect(verdict).toMatchObject({ limit: 'cpu' });
    });

    test('writing 100 MiB under maxFileSizeMb 10 is resource_limit file_size', async () => {
      const run = await runFixture('sandbox-write-100mb.ts', { limits: { maxFileSizeMb: 10 } });
      const verdict = failure(run);
      expect(verdict.kind).toBe(ErrorKind.ResourceLimit);
      expect(verdict).toMatchObject({ limit: 'file_size' });
    });

    test('granted read and write paths work, and writes land on the host', async () => {
      writeFileSync(join(scratch, 'in.txt'), 'granted');
      const read = await runFixture('sandbox-read-granted.ts', {
        input: { path: join(scratch, 'in.txt'), dir: scratch },
        permissions: { read: [scratch] },
      });
      expect(output(read)).toEqual({ text: 'granted', entries: ['in.txt'] });

      const target = join(scratch, 'out.txt');
      const write = await runFixture('sandbox-write-outside.ts', {
        input: { path: target, text: 'written' },
        permissions: { write: [scratch] },
      });
      expect(output(write)).toBe(target);
      expect(readFileSync(target, 'utf8')).toBe('written');
    });

    test('a read-only grant refuses writes (EROFS → permission_denied)', async () => {
      const target = join(scratch, 'out.txt');
      const run = await runFixture('sandbox-write-outside.ts', {
        input: { path: target },
        permissions: { read: [scratch] },
      });
      expect(failure(run).kind).toBe(ErrorKind.PermissionDenied);
      expect(existsSync(target)).toBe(false);
    });

    const DEFAULT_ENFORCEMENT = {
      sandbox: 'bwrap',
      filesystem: 'bundle',
      network: 'isolated',
      environment: 'cleared',
      subprocesses: 'denied',
      memory: memoryEnforced(512),
      processes: processesEnforced(256, false),
      cpu: { mechanism: 'none' },
      fileSize: { mechanism: 'rlimit', limitMb: 64 },
      openFiles: { mechanism: 'rlimit', limit: 1024 },
      tmp: { mechanism: 'tmpfs', limitMb: 64 },
      kill: 'pid-namespace',
    };

    test.each([
      { profile: 'the defaults', options: {}, enforced: {} },
      { profile: '`net`', options: { permissions: { net: true } }, enforced: { network: 'host' } },
      {
        profile: '`run` and 64 processes',
        options: { permissions: { run: true }, limits: { maxProcesses: 64 } },
        enforced: {
          subprocesses: 'allowed',
          processes: processesEnforced(64, true),
        },
      },
      {
        profile: '256 MB, 1 CPU second, 10 MB files',
        options: { limits: { memoryMb: 256, cpuSeconds: 1, maxFileSizeMb: 10 } },
        enforced: {
          memory: memoryEnforced(256),
          cpu: { mechanism: 'rlimit', seconds: 1 },
          fileSize: { mechanism: 'rlimit', limitMb: 10 },
        },
      },
    ] as const)(
      'every result reports what was enforced: $profile',
      async ({ options, enforced }) => {
        const run = await runFixture('ok-sync.ts', options);
        output(run);
        expect(run).toMatchObject({ enforcement: { ...DEFAULT_ENFORCEMENT, ...enforced } });
        if (!run.ok) return;
        const isolated = run.enforcement.network === 'isolated';
        expect(run.enforcement.namespaces).toEqual(
          expect.arrayContaining(['mount', 'pid', ...(isolated ? ['net'] : [])]),
        );
        expect(run.enforcement.namespaces.includes('net')).toBe(isolated);
      },
    );

    // Through the launcher the limits are set by it (LaunchPlan.byLauncher), directly by the
    // prologue: the tool's own process must carry them either way.
    test.each(['bwrap', 'none'] as const)(
      'mode %s: the tool’s own process has its rlimits and is in the execution’s cgroups',
      async (mode) => {
        const run = await runFixture('reports-limits.ts', {
          mode,
          limits: { cpuSeconds: 2, maxFileSizeMb: 10 },
        });
        const seen = output(run) as {
          cpu: { soft: string; hard: string };
          fileSize: { soft: string; hard: string };
          cgroup: string;
        };
        expect(seen.cpu).toEqual({ soft: '2', hard: '3' });
        expect(seen.fileSize).toEqual({
          soft: String(10 * 1024 * 1024),
          hard: String(10 * 1024 * 1024),
        });
        const lines = seen.cgroup.split('\n');
        const owned = `/toolcage/${OWNER}/`;
        if (!CGROUPS) return;
        if (CGROUP_MECHANISM === 'cgroup-v1') {
          expect(lines.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line))).toContain(
            owned,
          );
          expect(lines.find((line) => /^\d+:([^:]*,)?pids(,[^:]*)?:/.test(line))).toContain(owned);
        } else {
          expect(lines.find((line) => line.startsWith('0::'))).toContain(owned);
        }
      },
    );

    test("mode 'none' runs unsandboxed but still with cgroups, rlimits and a private temp dir", async () => {
      const run = await runFixture('sandbox-read-host-env.ts', { mode: 'none' });
      const env = output(run) as Record<string, string>;
      expect(env['TOOLCAGE_TEST_SECRET']).toBeUndefined();
      expect(env['TMPDIR']).toMatch(/toolcage-/);
      // Spawned in the temp root (the dir is made while the prologue starts), then entered.
      const where = output(await runFixture('reports-cwd.ts', { mode: 'none' })) as {
        cwd: string;
        tmpdir: string;
      };
      expect(where.cwd).toBe(where.tmpdir);
      // Named after its owner (this process), so that a sweep can tell whose it is.
      expect(where.cwd).toMatch(new RegExp(`/toolcage-${OWNER}-[0-9a-f-]{36}$`));
      expect(run).toMatchObject({
        enforcement: {
          sandbox: 'none',
          filesystem: 'host',
          network: 'host',
          kill: 'process-group',
          ...(CGROUPS ? { memory: { mechanism: CGROUP_MECHANISM, limitMb: 512 } } : {}),
          tmp: { mechanism: 'none' },
        },
      });
    });
  },
);
