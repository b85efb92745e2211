/**
 * cgroup file contents against a fake cgroup filesystem in a temp dir (v1 and v2), and the
 * detection of both layouts. The real kernel side is covered by escape.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, onTestFinished, test } from 'vitest';
import { spawn } from 'node:child_process';
import { ExecutionCgroups } from '../../src/sandbox/cgroup.js';
import { sweepStaleCgroupsIn } from '../../src/sandbox/sweep.js';
import { ownerTag } from '../../src/sandbox/owner.js';
import { detectCgroups } from '../../src/sandbox/cgroup-detect.js';
import { MANAGER_LEAF, ownPath } from '../../src/sandbox/cgroup-detect.js';
import type { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { LaunchPlan } from '../../src/sandbox/types.js';
import { unsandboxedRequest } from '../helpers/plans.js';

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

function fakeV1(): string {
  root = mkdtempSync(join(tmpdir(), 'sbx-cgroup-'));
  mkdirSync(join(root, 'memory'));
  writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
  mkdirSync(join(root, 'pids'));
  writeFileSync(join(root, 'pids', 'cgroup.procs'), '');
  return root;
}

function fakeV2(): string {
  root = mkdtempSync(join(tmpdir(), 'sbx-cgroup-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  return root;
}

// A real cgroupfs creates a new group's files itself; the fake one needs them written first.
function prepareFiles(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

describe('detectCgroups', () => {
  test('v1 controllers', () => {
    expect(detectCgroups(fakeV1())).toMatchObject({
      version: 'v1',
      memory: true,
      pids: true,
      layout: { version: 'v1', memory: join(root, 'memory'), pids: join(root, 'pids') },
    });
  });
  test('v2 with memory and pids', () => {
    expect(detectCgroups(fakeV2())).toMatchObject({
      version: 'v2',
      memory: true,
      pids: true,
      layout: { version: 'v2', root, memory: true, pids: true },
    });
  });
  test('v1 as a plain user: below its own cgroup in each hierarchy', () => {
    fakeV1();
    mkdirSync(join(root, 'memory', 'svc', 'engine'), { recursive: true });
    mkdirSync(join(root, 'pids', 'svc'), { recursive: true });
    const self = '9:memory:/svc/engine\n8:pids:/svc\n0::/\n';
    expect(detectCgroups(root, { uid: 1000, self })).toMatchObject({
      version: 'v1',
      via: 'own',
      layout: {
        version: 'v1',
        memory: join(root, 'memory', 'svc', 'engine'),
        pids: join(root, 'pids', 'svc'),
        mounts: { memory: join(root, 'memory'), pids: join(root, 'pids') },
      },
    });
  });
  test('v1 with cgroupParent: that path in each hierarchy, given relative or under the mount', () => {
    fakeV1();
    for (const c of ['memory', 'pids']) mkdirSync(join(root, c, 'tools'));
    for (const parent of ['/tools', join(root, 'memory', 'tools')]) {
      const found = detectCgroups(root, { uid: 0, parent, self: '' });
      expect(found.via).toBe('parent');
      expect(found.layout).toMatchObject({ memory: join(root, 'memory', 'tools') });
    }
  });
  test('v2 as a plain user in a delegated cgroup: moves its processes into a leaf, then uses it', () => {
    fakeV2();
    const own = join(root, 'user.slice', 'engine.service');
    prepareFiles(own, {
      'cgroup.controllers': 'cpu memory pids\n',
      'cgroup.subtree_control': '',
      'cgroup.procs': '4242\n4243\n',
    });
    const found = detectCgroups(root, { uid: 1000, self: '0::/user.slice/engine.service\n' });
    expect(found).toMatchObject({
      version: 'v2',
      via: 'own',
      memory: true,
      pids: true,
      layout: { version: 'v2', root: own, memory: true, pids: true },
    });
    // Each member was written to the leaf's cgroup.procs (a fake file keeps the last one).
    expect(readFileSync(join(own, MANAGER_LEAF, 'cgroup.procs'), 'utf8')).toBe('4243');
    // The executions' cgroups then go below, with the controllers delegated down.
    const cgroups = ExecutionCgroups.plan(found.layout!, 'exec-1', {
      memoryBytes: 1024,
      maxProcesses: 8,
    });
    prepareFiles(join(own, 'toolcage', ownerTag()), { 'cgroup.subtree_control': '' });
    prepareFiles(join(own, 'toolcage'), { 'cgroup.subtree_control': '' });
    cgroups.materialize();
    expect(readFileSync(join(own, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids');
    expect(readFileSync(join(own, 'toolcage', ownerTag(), 'exec-1', 'memory.max'), 'utf8')).toBe(
      '1024',
    );
  });
  test('v2 whose delegated cgroup has neither memory nor pids says where to enable them', () => {
    fakeV2();
    prepareFiles(join(root, 'svc'), { 'cgroup.controllers': 'cpu io\n', 'cgroup.procs': '' });
    const found = detectCgroups(root, { uid: 1000, self: '0::/svc\n' });
    expect(found).toMatchObject({ available: false, layout: undefined });
    expect(found.detail).toMatch(/enable them in its parent's cgroup.subtree_control/);
  });
  test('v2 with no cgroup of this process found', () => {
    fakeV2();
    expect(detectCgroups(root, { uid: 1000, self: '' }).detail).toMatch(
      /no cgroup of this process/,
    );
  });
  test('ownPath reads /proc/self/cgroup for a v1 controller (also in a joint hierarchy) and v2', () => {
    const self = '12:cpu,cpuacct:/a\n4:memory:/b\n0::/c\n';
    expect([ownPath(self, 'cpuacct'), ownPath(self, 'memory'), ownPath(self, '')]).toEqual([
      '/a',
      '/b',
      '/c',
    ]);
    expect(ownPath(self, 'pids')).toBeUndefined();
  });
  test('nothing', () => {
    root = mkdtempSync(join(tmpdir(), 'sbx-cgroup-'));
    expect(detectCgroups(root)).toMatchObject({
      version: 'none',
      available: false,
      layout: undefined,
    });
  });
});

// The cgroups of one execution, planned and made at once (the launch makes them while its process starts).
function planned(...args: Parameters<typeof ExecutionCgroups.plan>): ExecutionCgroups {
  const cgroups = ExecutionCgroups.plan(...args);
  cgroups.materialize();
  return cgroups;
}

describe('ExecutionCgroups on v1', () => {
  test('creates one group per hierarchy under toolcage/<pid>/<id>, with the limits', () => {
    fakeV1();
    const layout = {
      version: 'v1',
      memory: join(root, 'memory'),
      pids: join(root, 'pids'),
    } as const;
    const memoryDir = join(root, 'memory', 'toolcage', ownerTag());
    const pidsDir = join(root, 'pids', 'toolcage', ownerTag());
    mkdirSync(memoryDir, { recursive: true });
    mkdirSync(pidsDir, { recursive: true });
    const created = planned(layout, 'exec-1', {
      memoryBytes: 256 * 1024 * 1024,
      maxProcesses: 64,
    });
    expect(readFileSync(join(memoryDir, 'exec-1', 'memory.limit_in_bytes'), 'utf8')).toBe(
      String(256 * 1024 * 1024),
    );
    expect(readFileSync(join(pidsDir, 'exec-1', 'pids.max'), 'utf8')).toBe('64');
    expect(created.mechanism).toBe('cgroup-v1');
    // One cgroup per hierarchy, and CLONE_INTO_CGROUP takes v2 cgroups only: the launcher's
    // spawning thread joins each `tasks` file, and comes back to its own in the same hierarchy.
    expect(created.placement).toEqual({
      joins: [
        {
          controller: 'memory',
          hierarchy: join(root, 'memory'),
          file: join(memoryDir, 'exec-1', 'tasks'),
        },
        {
          controller: 'pids',
          hierarchy: join(root, 'pids'),
          file: join(pidsDir, 'exec-1', 'tasks'),
        },
      ],
    });
  });

  test('reads OOM kills and refused forks', () => {
    fakeV1();
    const layout = {
      version: 'v1',
      memory: join(root, 'memory'),
      pids: join(root, 'pids'),
    } as const;
    const group = planned(layout, 'exec-2', {
      memoryBytes: 1 << 20,
      maxProcesses: 8,
    });
    const memoryDir = join(root, 'memory', 'toolcage', ownerTag(), 'exec-2');
    const pidsDir = join(root, 'pids', 'toolcage', ownerTag(), 'exec-2');
    expect(group.inspect()).toEqual({ memoryExceeded: false, processesExceeded: false });
    prepareFiles(memoryDir, {
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
    });
    prepareFiles(pidsDir, { 'pids.events': 'max 3\n' });
    expect(group.inspect()).toEqual({ memoryExceeded: true, processesExceeded: true });
  });

  test('a missing controller is an error, and nothing is left', () => {
    fakeV1();
    const layout = { version: 'v1', memory: undefined, pids: join(root, 'pids') } as const;
    expect(() => planned(layout, 'exec-3', { memoryBytes: 1, maxProcesses: 1 })).toThrow(
      'the memory cgroup controller is not available',
    );
  });
});

describe('ExecutionCgroups on v2', () => {
  test('one group, delegation through subtree_control, memory.max, swap 0, oom.group, pids.max', () => {
    fakeV2();
    const layout = { version: 'v2', root, memory: true, pids: true } as const;
    const runtimeDir = join(root, 'toolcage', ownerTag());
    const group = planned(layout, 'exec-4', {
      memoryBytes: 512 * 1024 * 1024,
      maxProcesses: 100,
    });
    const dir = join(runtimeDir, 'exec-4');
    // One cgroup for both controllers: a process can be started inside it.
    expect(group.placement).toEqual({ cgroup: dir });
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(512 * 1024 * 1024));
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).toBe('100');
    for (const parent of [root, join(root, 'toolcage'), runtimeDir]) {
      expect(readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids');
    }
    expect(group.mechanism).toBe('cgroup-v2');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n');
    writeFileSync(join(dir, 'pids.events'), 'max 0\n');
    expect(group.inspect()).toEqual({ memoryExceeded: true, processesExceeded: false });
    group.kill();
    expect(readFileSync(join(dir, 'cgroup.kill'), 'utf8')).toBe('1');
  });
});

describe('sweepStaleCgroupsIn', () => {
  test('removes the groups of managers that are gone, keeps live ones (pid reuse cannot fool it)', async () => {
    fakeV1();
    const layout = {
      version: 'v1',
      memory: join(root, 'memory'),
      pids: join(root, 'pids'),
    } as const;
    const parent = join(root, 'memory', 'toolcage');
    const gone = await exitedOwner();
    const dirs = {
      // Named by pid only (before owners were recorded), the pid free.
      legacyDead: join(parent, '999999999', 'exec-old'),
      // An owner that exited.
      dead: join(parent, gone, 'exec-dead'),
      // Our own pid, but another start time: the pid was reused, the owner is gone.
      reused: join(parent, `${process.pid}-1`, 'exec-reused'),
      // Us, and another live process (pid 1, with its real start time).
      live: join(parent, ownerTag(), 'exec-live'),
      other: join(parent, `1-${startOf(1)}`, 'exec-other'),
    };
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const removed = await sweepStaleCgroupsIn(layout);
    expect(removed.sort()).toEqual(
      [
        dirs.legacyDead,
        join(parent, '999999999'),
        dirs.dead,
        join(parent, gone),
        dirs.reused,
        join(parent, `${process.pid}-1`),
      ].sort(),
    );
    for (const dir of [dirs.legacyDead, dirs.dead, dirs.reused])
      expect(existsSync(dir)).toBe(false);
    expect(existsSync(dirs.live)).toBe(true);
    expect(existsSync(dirs.other)).toBe(true);
  });
});

/** The start time (field 22 of /proc/<pid>/stat) of a process. */
export function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** The owner tag of a process that has exited (a short `sleep` we started and waited for). */
export async function exitedOwner(): Promise<string> {
  const child = spawn('sleep', ['0.2']);
  const tag = `${child.pid}-${startOf(child.pid!)}`;
  await new Promise((resolve) => child.once('exit', resolve));
  return tag;
}

describe('the launch plan on each version', () => {
  // An unsandboxed plan over the fake hierarchy (its cgroups made when the plan is materialised).
  async function planOver(
    cgroupRoot: string,
    limits: Partial<typeof DEFAULT_LIMITS> = {},
  ): Promise<LaunchPlan> {
    const tmpRoot = mkdtempSync(join(tmpdir(), 'sbx-plan-'));
    onTestFinished(() => rmSync(tmpRoot, { recursive: true, force: true }));
    const plan = await createSandbox({ cgroupRoot, tmpRoot }).prepare(
      unsandboxedRequest('exec-plan', join(tmpRoot, 'tool.ts'), limits),
    );
    onTestFinished(() => plan.dispose());
    return plan;
  }

  test('v2: the process starts inside its cgroup, in its temp dir, with its rlimits; the fallback prologue applies the same', async () => {
    const plan = await planOver(fakeV2());
    const dir = join(root, 'toolcage', ownerTag(), 'exec-plan');
    expect(plan.file).toBe('/bin/true');
    expect(plan.confinement).toEqual({
      cgroup: dir,
      rlimits: [
        { resource: 'fsize', soft: 64 * 1024 * 1024, hard: 64 * 1024 * 1024 },
        { resource: 'nofile', soft: 1024, hard: 1024 },
      ],
    });
    // Unsandboxed, it runs in its temp dir, which is made before it starts.
    expect(plan.cwd).toMatch(/toolcage-/);
    const fallback = plan.fallback as { file: string; args: readonly string[] };
    expect(fallback.args[1]).toContain(`echo 0 > '${join(dir, 'cgroup.procs')}'`);
    expect(fallback.args[1]).not.toContain('read -r go');
    expect(fallback.args[1]).toContain(`ulimit -f ${(64 * 1024 * 1024) / 512}`);
    expect(fallback.args[1]).toContain('ulimit -n 1024');
    expect(fallback.args.slice(2)).toEqual(['/bin/true']);
  });

  test('v1 with a tiny memory limit: the process is moved into the memory cgroup, the launcher’s thread never joins it', async () => {
    const plan = await planOver(fakeV1(), { memoryMb: 16 });
    expect(plan.confinement.joins?.map((join) => [join.controller, join.move])).toEqual([
      ['memory', true],
      ['pids', undefined],
    ]);
    expect((plan.fallback as { args: readonly string[] }).args[1]).toContain(`/tasks'`);
  });

  test('v2 with a tiny memory limit: the process is cloned into its cgroup, the launcher never in it', async () => {
    expect((await planOver(fakeV2(), { memoryMb: 16 })).confinement).toHaveProperty('cgroup');
  });

  test('v1: the launcher joins each hierarchy by thread; a CPU limit is soft below hard', async () => {
    const plan = await planOver(fakeV1(), { cpuSeconds: 3 });
    expect(plan.confinement.joins?.map((join) => join.controller)).toEqual(['memory', 'pids']);
    expect(plan.confinement.joins?.some((join) => join.move === true)).toBe(false);
    expect(plan.confinement).not.toHaveProperty('cgroup');
    expect(plan.confinement.rlimits).toContainEqual({ resource: 'cpu', soft: 3, hard: 4 });
    const script = (plan.fallback as { args: readonly string[] }).args[1];
    expect(script).toContain(`/tasks'`);
    expect(script).toContain('ulimit -S -t 3 && ulimit -H -t 4');
  });
});
