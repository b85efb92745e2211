import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, onTestFinished, test, vi } from 'vitest';
import { resolveBunBinary } from '../../src/runtime/bun-binary.js';
import { killProcessGroup } from '../../src/runtime/kill-tree.js';
import { Launcher } from '../../src/runtime/launcher-client.js';
import { detectCgroups } from '../../src/sandbox/cgroup-detect.js';
import { prologue } from '../../src/sandbox/prologue.js';
import { spawnPlan, type SpawnedProcess } from '../../src/runtime/spawn.js';
import { expectNothingLeft, launcherProcesses, openFds, toolProcesses } from '../helpers/leaks.js';
import { readyLauncher, shellPlan } from '../helpers/plans.js';
import { runUntilReady, withRuntime } from '../helpers/runtime.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
  expect(launcherProcesses()).toEqual([]);
});

// Runs `body` with a launcher that is up, and closes it whatever happens.
async function withLauncher(body: (launcher: Launcher) => Promise<void>): Promise<void> {
  const launcher = await readyLauncher();
  try {
    await body(launcher);
  } finally {
    await launcher.close();
  }
}

// Everything a process writes on fd 3 (the result channel), once it has ended.
async function resultOf(child: SpawnedProcess): Promise<string> {
  const chunks: Buffer[] = [];
  child.result.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stdout.resume();
  child.stderr.resume();
  await child.closed;
  return Buffer.concat(chunks).toString('utf8');
}

function destroyAll(child: SpawnedProcess): void {
  for (const stream of [child.stdin, child.stdout, child.stderr, child.result])
    (stream as Readable).destroy();
}

// A writable cgroup v2 hierarchy (the unified one of a v1 machine will do: starting a process
// inside a cgroup needs no controller), or why there is none.
function writableCgroup2(): { root: string } | { missing: string } {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  const root = mounts.map((line) => line.split(' ')).find((fields) => fields[2] === 'cgroup2')?.[1];
  if (root === undefined) return { missing: 'no cgroup2 filesystem is mounted' };
  try {
    const probe = mkdtempSync(join(root, 'toolcage-probe-'));
    rmdirSync(probe);
    return { root };
  } catch (error) {
    return { missing: `${root} is not writable here (${String(error)})` };
  }
}
const REQUIRE_ALL = process.env['TOOLCAGE_REQUIRE_ALL'] === '1';
const cgroup2 = writableCgroup2();
if ('missing' in cgroup2) {
  process.stderr.write(
    `\n*** SKIPPED: starting a process inside a cgroup v2 (launcher.test.ts): ${cgroup2.missing}. Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure. ***\n\n`,
  );
}

describe('the launcher', () => {
  test("starts a process with exactly its plan's environment, directory and files, leading its own group", async () => {
    await withLauncher(async (launcher) => {
      const program = join(tmpdir(), `launcher-test-${process.pid}.txt`);
      writeFileSync(program, 'the program');
      onTestFinished(() => rmSync(program, { force: true }));
      const child = await spawnPlan(
        shellPlan(
          'printf "%s|%s|%s|" "$(env | cut -d= -f1 | sort | tr "\\n" ,)" "$(pwd)" ' +
            '"$(cut -d" " -f5 /proc/$$/stat) $$" >&3; cat <&4 >&3; read -r line; printf "|%s" "$line" >&3',
          { env: { FOO: 'bar' }, cwd: tmpdir(), extraFiles: [program] },
        ),
        launcher,
      );
      child.stdin.write('the request\n');
      const [names, cwd, group, file, line] = (await resultOf(child)).split('|');
      // dash adds PWD itself; nothing of the launcher's or the manager's own environment.
      expect(names!.split(',').filter(Boolean).sort()).toEqual(['FOO', 'PWD']);
      expect(cwd).toBe(tmpdir());
      const [pgid, pid] = group!.split(' ');
      expect(pgid).toBe(pid);
      expect(Number(pid)).toBe(child.pid);
      expect(file).toBe('the program');
      expect(line).toBe('the request');
      expect(await child.exited).toEqual({ code: 0, signal: null });
    });
  });

  test('reports exit codes and signals, and a process that cannot start as a spawn error', async () => {
    await withLauncher(async (launcher) => {
      const exits = await spawnPlan(shellPlan('exit 7'), launcher);
      expect(await exits.exited).toEqual({ code: 7, signal: null });
      destroyAll(exits);
      const killed = await spawnPlan(shellPlan('kill -9 $$'), launcher);
      expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
      destroyAll(killed);
      await expect(
        spawnPlan({ ...shellPlan(''), file: '/nonexistent/bun' }, launcher),
      ).rejects.toThrow(/ENOENT|no such file/i);
      await Promise.all([exits.closed, killed.closed]);
    });
  });

  test('a process sees only its own four descriptors, however many start at once', async () => {
    await withLauncher(async (launcher) => {
      const children = await Promise.all(
        Array.from({ length: 6 }, () => spawnPlan(shellPlan('exec sleep 4242'), launcher)),
      );
      // Read from here once each is `sleep` (a shell has fds of its own while it runs a script).
      for (const child of children) {
        await expect
          .poll(() => readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim())
          .toBe('sleep');
        // 0–3 and nothing else: nothing of the launcher's, nor another process's sockets.
        expect(readdirSync(`/proc/${child.pid}/fd`).sort()).toEqual(['0', '1', '2', '3']);
      }
      for (const child of children) {
        killProcessGroup(child.pid, 'SIGKILL');
        destroyAll(child);
      }
      await Promise.all(children.map((child) => child.closed));
    });
  });

  test('when it dies, what it started is killed and ends as killed, and the next call starts a new one', async () => {
    await withLauncher(async (launcher) => {
      const child = await spawnPlan(shellPlan('exec sleep 4242'), launcher);
      child.stdout.resume();
      child.stderr.resume();
      child.result.resume();
      await expect.poll(() => toolProcesses().length).toBe(1);
      process.kill(launcher.running!.pid, 'SIGKILL');
      expect(await child.exited).toEqual({
        code: null,
        signal: 'SIGKILL',
        lost: 'the toolcage launcher failed: it was killed by SIGKILL',
      });
      await expect.poll(() => toolProcesses()).toEqual([]);
      destroyAll(child);
      await child.closed;
      // Until a new launcher is up, spawnPlan spawns directly; then through it again.
      expect(await launcher.whenReady()).toBe(true);
      const again = await spawnPlan(shellPlan('printf ok >&3'), launcher);
      expect(await resultOf(again)).toBe('ok');
    });
  });

  test('drops a connection that does not name a request, or names none, and leaves nothing after close()', async () => {
    const launcher = await readyLauncher();
    const { socketPath } = launcher.running!;
    const forged = connect(socketPath);
    forged.write(`3${'0'.repeat(32)}\n{"type":"result","output":"forged"}`);
    await new Promise((resolve) => forged.once('close', resolve));
    // One that says nothing is dropped too, after a while.
    const silent = connect(socketPath);
    silent.on('error', () => {});
    await new Promise((resolve) => silent.once('close', resolve));
    const child = await spawnPlan(shellPlan('printf real >&3'), launcher);
    expect(await resultOf(child)).toBe('real');
    await launcher.close();
    expect(existsSync(dirname(socketPath))).toBe(false);
    expect(launcherProcesses()).toEqual([]);
  });

  test('one that does not answer fails the request at its answer timeout, and is killed', async () => {
    // Where the leak checks look for launchers (…/runtime/launcher/main.*).
    const dir = mkdtempSync(join(tmpdir(), 'mute-launcher-'));
    const entry = join(dir, 'runtime', 'launcher', 'main.mjs');
    mkdirSync(dirname(entry), { recursive: true });
    // Says it is ready, then reads its requests and answers none.
    writeFileSync(entry, `process.stdout.write('{"ready":true}\\n');\nprocess.stdin.resume();\n`);
    const launcher = new Launcher(resolveBunBinary(), entry, { answerTimeoutMs: 300 });
    try {
      expect(await launcher.whenReady()).toBe(true);
      const { pid } = launcher.running!;
      await expect(launcher.spawn(shellPlan('true'))).rejects.toThrow(
        'the toolcage launcher failed: it did not answer within 300 ms',
      );
      expect(launcher.running).toBeUndefined();
      await expect
        .poll(() => launcherProcesses().some((line) => line.startsWith(`${pid}:`)))
        .toBe(false);
    } finally {
      await launcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('one that cannot start leaves every spawn to the manager, and is not retried for ever', async () => {
    const launcher = new Launcher(resolveBunBinary(), '/nonexistent/launcher.ts');
    try {
      for (let attempt = 0; attempt < 3; attempt++) expect(await launcher.whenReady()).toBe(false);
      expect(await launcher.whenReady()).toBe(false);
      expect(launcherProcesses()).toEqual([]);
      const child = await spawnPlan(shellPlan('printf "%s" "$PPID" >&3'), launcher);
      expect(Number(await resultOf(child))).toBe(process.pid);
    } finally {
      await launcher.close();
    }
  });

  test('every execution of a runtime runs through its launcher, its first one too: Node spawns none', async () => {
    await withRuntime({ sandbox: 'none' }, async (runtime) => {
      for (let call = 0; call < 5; call++) {
        const { output } = await runtime.executeToolWithTimeout<{ ppid: number }>({
          toolPath: 'reports-parent.ts',
        });
        const launchers = launcherProcesses().map((line) => Number(line.split(':')[0]));
        expect(launchers).toContain(output.ppid);
        expect(output.ppid).not.toBe(process.pid);
      }
    });
  });

  test('an execution whose launcher dies under it fails as internal, not as a crash of its tool', async () => {
    await withRuntime({ sandbox: 'none' }, async (runtime) => {
      // Built first (the build's process is not the tool's), and the launcher up (a call
      // through it seen), so that the execution runs through it.
      await runUntilReady(runtime, 'forever.ts');
      const launcher = await vi.waitFor(async () => {
        const { output } = await runtime.executeToolWithTimeout<{ ppid: number }>({
          toolPath: 'reports-parent.ts',
        });
        expect(launcherProcesses().map((line) => Number(line.split(':')[0]))).toContain(
          output.ppid,
        );
        return output.ppid;
        // Room for the first call's build on a clean checkout.
      }, 30_000);
      // Started, as the manager knows it: its log comes through after the launcher's reply (a
      // process merely visible may still be waiting for it, and would be a failed start).
      let ready!: () => void;
      const started = new Promise<void>((resolve) => (ready = resolve));
      const execution = runtime.executeToolWithTimeout({
        toolPath: 'forever.ts',
        timeoutMs: 30_000,
        onLog: (_stream, line) => line.includes('ready') && ready(),
      });
      await started;
      expect(toolProcesses()).toHaveLength(1);
      process.kill(launcher, 'SIGKILL');
      await expect(execution).rejects.toMatchObject({
        kind: 'internal',
        message: 'Tool `forever` was lost: the toolcage launcher failed: it was killed by SIGKILL',
      });
      // The next call starts a new launcher, waits for it, and succeeds.
      await expect(
        runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', input: 'after the kill' }),
      ).resolves.toMatchObject({ output: { echo: 'after the kill' }, exitCode: 0 });
    });
  });
});

describe('starting inside a cgroup (cgroup v2, Confinement.cgroup)', () => {
  // Skipped (and reported so) unless TOOLCAGE_REQUIRE_ALL=1, where it fails the run.
  test.runIf(REQUIRE_ALL)(
    'cgroup v2 is writable here (required when TOOLCAGE_REQUIRE_ALL=1)',
    () => {
      expect(cgroup2).toHaveProperty('root');
    },
  );

  test.skipIf('missing' in cgroup2)(
    "through the launcher the process starts inside the plan's cgroup; the fallback's prologue joins the same cgroup itself",
    async () => {
      const root = (cgroup2 as { root: string }).root;
      const dir = mkdtempSync(join(root, 'toolcage-test-into-'));
      onTestFinished(() => rmdirSync(dir));
      const report = 'printf "%s|%s" "$0" "$(grep "^0::" /proc/self/cgroup)" >&3';
      let materialized = 0;
      const confinement = { cgroup: dir, rlimits: [] };
      const tools = { shell: '/bin/sh', setpriv: undefined };
      const plan = shellPlan(report, {
        args: ['-c', report, 'started inside'],
        confinement,
        fallback: prologue(tools, confinement, {
          file: '/bin/sh',
          args: ['-c', report, 'joined by its prologue'],
        }),
        // The cgroup must be made before a process can start in it: the launcher path makes it first.
        materialize: () => {
          materialized++;
        },
      });
      await withLauncher(async (launcher) => {
        const inside = await spawnPlan(plan, launcher);
        const [how, membership] = (await resultOf(inside)).split('|');
        expect(how).toBe('started inside');
        expect(membership).toBe(`0::/${dir.slice(root.length + 1)}`);
        expect(materialized).toBe(1);
      });
      const direct = await spawnPlan(plan);
      const [fallbackHow, fallbackMembership] = (await resultOf(direct)).split('|');
      expect(fallbackHow).toBe('joined by its prologue');
      expect(fallbackMembership).toBe(`0::/${dir.slice(root.length + 1)}`);
    },
  );
});

// A v1 memory hierarchy this process can make cgroups in (the launcher's v1 path), or why not.
const v1 = detectCgroups('/sys/fs/cgroup');
const v1Memory = v1.layout?.version === 'v1' ? v1.layout.memory : undefined;
if (v1Memory === undefined) {
  process.stderr.write(
    `\n*** SKIPPED: the launcher's cgroup v1 joins (launcher.test.ts): ${v1.detail}. Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure on a cgroup v1 machine. ***\n\n`,
  );
}

describe('joining cgroup v1 cgroups for a spawn (Confinement.joins)', () => {
  test.runIf(REQUIRE_ALL && v1.version !== 'v2')(
    'a v1 memory hierarchy is writable here (required when TOOLCAGE_REQUIRE_ALL=1 on a cgroup v1 machine)',
    () => {
      expect(v1Memory).toBeDefined();
    },
  );

  test.skipIf(v1Memory === undefined)(
    'the process starts in the cgroup, and no thread of the launcher is left in it — not even one born while the spawning thread was inside',
    async () => {
      const hierarchy = v1Memory!;
      const dir = mkdtempSync(join(hierarchy, 'toolcage-test-join-'));
      onTestFinished(() => rmdirSync(dir));
      const tasks = join(dir, 'tasks');
      const memoryLine = (pid: number | string, tid?: string): string =>
        readFileSync(`/proc/${pid}/${tid === undefined ? '' : `task/${tid}/`}cgroup`, 'utf8')
          .split('\n')
          .find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line))!
          .replace(/^\d+:[^:]*:/, '');
      const report = 'grep -E "^[0-9]+:([^:]*,)?memory(,[^:]*)?:" /proc/self/cgroup >&3';
      const plan = shellPlan(report, {
        confinement: { joins: [{ controller: 'memory', hierarchy, file: tasks }], rlimits: [] },
      });
      await withLauncher(async (launcher) => {
        const { pid } = launcher.running!;
        const own = memoryLine(pid);
        // A thread the spawning thread starts while it is inside is born inside (JavaScriptCore
        // starts helpers lazily, see launcher/main.ts): one of its threads put there stands for it.
        const helper = readdirSync(`/proc/${pid}/task`).find((tid) => tid !== String(pid))!;
        writeFileSync(tasks, helper);
        expect(memoryLine(pid, helper)).toBe(`/${dir.slice(hierarchy.length + 1)}`);
        const child = await spawnPlan(plan, launcher);
        expect(memoryLine(pid, helper)).toBe(own);
        expect(memoryLine(pid)).toBe(own);
        const members = readFileSync(tasks, 'utf8').split('\n').filter(Boolean);
        expect(members.filter((tid) => existsSync(`/proc/${pid}/task/${tid}`))).toEqual([]);
        expect((await resultOf(child)).trim()).toMatch(
          new RegExp(`:/${dir.slice(hierarchy.length + 1)}$`),
        );
        expect(await child.exited).toEqual({ code: 0, signal: null });
      });
    },
  );
});

describe('a tiny v1 memory limit (CgroupJoin.move)', () => {
  test.skipIf(v1Memory === undefined)(
    "the launcher moves the started process into the memory cgroup; none of the launcher's threads ever enters it",
    async () => {
      const hierarchy = v1Memory!;
      const dir = mkdtempSync(join(hierarchy, 'toolcage-test-move-'));
      onTestFinished(() => rmdirSync(dir));
      const tasks = join(dir, 'tasks');
      // The moved process waits for its move (it reads its stdin) before it reports.
      const report = 'read -r _; grep -E "^[0-9]+:([^:]*,)?memory(,[^:]*)?:" /proc/self/cgroup >&3';
      const plan = shellPlan(report, {
        confinement: {
          joins: [{ controller: 'memory', hierarchy, file: tasks, move: true }],
          rlimits: [],
        },
      });
      await withLauncher(async (launcher) => {
        const { pid } = launcher.running!;
        const child = await spawnPlan(plan, launcher);
        const members = readFileSync(tasks, 'utf8').split('\n').filter(Boolean);
        expect(members).toContain(String(child.pid));
        expect(members.filter((tid) => existsSync(`/proc/${pid}/task/${tid}`))).toEqual([]);
        child.stdin.write('go\n');
        expect((await resultOf(child)).trim()).toMatch(
          new RegExp(`:/${dir.slice(hierarchy.length + 1)}$`),
        );
        expect(await child.exited).toEqual({ code: 0, signal: null });
      });
    },
  );
});

describe('limits the launcher applies itself (Confinement.rlimits)', () => {
  const bwrap = ['/usr/bin/bwrap', '/bin/bwrap'].find((path) => existsSync(path));
  if (bwrap === undefined) {
    process.stderr.write(
      '\n*** SKIPPED: bwrap held on --block-fd (launcher.test.ts): bubblewrap is not installed (apt-get install bubblewrap). Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure. ***\n\n',
    );
  }

  test.runIf(REQUIRE_ALL)('bubblewrap is installed (required when TOOLCAGE_REQUIRE_ALL=1)', () => {
    expect(bwrap).toBeDefined();
  });

  test.skipIf(bwrap === undefined)(
    'bwrap held on --block-fd gets its rlimits first; a bwrap that fails before its sandbox ends as a process, its stderr kept, reported as never started',
    async () => {
      const report = 'grep -E "^Max (cpu time|file size)" /proc/self/limits >&3';
      const held = (args: string[]) =>
        shellPlan('', {
          file: bwrap!,
          args,
          confinement: {
            rlimits: [
              { resource: 'cpu', soft: 7, hard: 8 },
              { resource: 'fsize', soft: 1024 * 1024, hard: 1024 * 1024 },
            ],
            hold: { args, infoFd: 4, blockFd: 5 },
          },
        });
      await withLauncher(async (launcher) => {
        const ok = await spawnPlan(
          held([
            ...['--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--unshare-pid'],
            ...['--die-with-parent', '--info-fd', '4', '--block-fd', '5', '--'],
            ...['/bin/sh', '-c', report],
          ]),
          launcher,
        );
        const limits = await resultOf(ok);
        expect(limits).toMatch(/^Max cpu time\s+7\s+8\s/m);
        expect(limits).toMatch(/^Max file size\s+1048576\s+1048576\s/m);
        expect(await ok.exited).toEqual({ code: 0, signal: null });
        const failing = await spawnPlan(
          held(['--no-such-flag', '--info-fd', '4', '--block-fd', '5', '--', '/bin/true']),
          launcher,
        );
        const stderr: Buffer[] = [];
        failing.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        await resultOf(failing);
        expect((await failing.exited).code).not.toBe(0);
        expect(Buffer.concat(stderr).toString()).toContain('--no-such-flag');
        // The launcher's own report that nothing ran: what makes it `spawn_failed`, never the
        // stderr text (a tool can print that).
        expect((await failing.exited).sandboxFailed).toBe('bwrap ended before it made the sandbox');
      });
    },
  );
  // A root launcher takes the sandbox user's ids for the prlimit() on that user's process: on its
  // own thread only (rlimits.ts), and back to root after. Only a root manager switches users
  // (a plain one's sandbox is itself); CI runs this file as root.
  test.skipIf(bwrap === undefined || process.getuid?.() !== 0)(
    'for a sandbox user, the rlimits are set as that user, and every thread of the launcher is root again after',
    async () => {
      const args = [
        ...['--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--unshare-pid'],
        ...['--die-with-parent', '--info-fd', '4', '--block-fd', '5', '--'],
        ...[
          '/bin/sh',
          '-c',
          'grep -E "^Max (file size|open files)" /proc/self/limits >&3; id -u >&3',
        ],
      ];
      const plan = shellPlan('', {
        file: bwrap!,
        args,
        confinement: {
          rlimits: [
            { resource: 'fsize', soft: 2 * 1024 * 1024, hard: 2 * 1024 * 1024 },
            { resource: 'nofile', soft: 77, hard: 77 },
          ],
          hold: { args, infoFd: 4, blockFd: 5 },
          user: { uid: 65534, gid: 65534 },
        },
      });
      await withLauncher(async (launcher) => {
        const child = await spawnPlan(plan, launcher);
        const seen = await resultOf(child);
        expect(seen).toMatch(/^Max file size\s+2097152\s+2097152\s/m);
        expect(seen).toMatch(/^Max open files\s+77\s+77\s/m);
        expect(seen).toMatch(/^65534$/m);
        expect(await child.exited).toEqual({ code: 0, signal: null });
        const { pid } = launcher.running!;
        const threads = readdirSync(`/proc/${pid}/task`);
        expect(threads.length).toBeGreaterThan(1);
        for (const tid of threads) {
          const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
          expect(status, tid).toMatch(/^Uid:\s+0\s+0\s+0\s+0$/m);
          expect(status, tid).toMatch(/^Gid:\s+0\s+0\s+0\s+0$/m);
        }
      });
    },
  );
});
