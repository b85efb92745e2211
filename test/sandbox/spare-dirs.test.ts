/**
 * Directories made ahead (src/sandbox/spare-dirs.ts): cgroups on this machine's own where they
 * are writable (rename on the real cgroupfs) and over a fake v2 hierarchy in a temp dir; the host
 * temp dir of an unsandboxed launch.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { heldSpareDirs } from '../../src/sandbox/spare-dirs.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { LaunchPlan, Sandbox } from '../../src/sandbox/types.js';
import { toolcageCgroups } from '../helpers/leaks.js';
import { unsandboxedRequest } from '../helpers/plans.js';
import { CGROUPS, sandboxAvailability } from './harness.js';

const available = await sandboxAvailability();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function fakeV2(): string {
  const root = mkdtempSync(join(tmpdir(), 'sbx-spares-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

let launches = 0;
// An unsandboxed launch's plan, materialised (its cgroups made or taken) as a launch does.
async function launch(sandbox: Sandbox, memoryMb = 256): Promise<LaunchPlan> {
  const tmpRoot = mkdtempSync(join(tmpdir(), 'sbx-spares-tmp-'));
  cleanups.push(() => rmSync(tmpRoot, { recursive: true, force: true }));
  const plan = await sandbox.prepare(
    unsandboxedRequest(`spares-${process.pid}-${++launches}`, join(tmpRoot, 'tool.ts'), {
      memoryMb,
      maxProcesses: 37,
    }),
  );
  plan.materialize();
  return plan;
}

// A plan's cgroup directories: its v2 cgroup, or the directory of each v1 join.
function dirsOf(plan: LaunchPlan): string[] {
  const { cgroup, joins } = plan.confinement;
  return cgroup !== undefined ? [cgroup] : (joins ?? []).map((join) => dirname(join.file));
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// The execution of `plan` is over (the runtime disposes of its plan then): the spares it took
// are made again, on the next turn of the event loop.
async function over(plan: LaunchPlan): Promise<void> {
  await plan.dispose();
  await turn();
}

// The cgroup spares held now (a temp dir's spare is named as a launch's temp dir is).
const cgroupSpares = (): string[] =>
  [...heldSpareDirs()].filter((dir) => basename(dir).startsWith('spare-'));
const tempSpares = (): string[] =>
  [...heldSpareDirs()].filter((dir) => !basename(dir).startsWith('spare-'));

const memoryLimit = (dir: string): string =>
  readFileSync(
    join(dir, existsSync(join(dir, 'memory.max')) ? 'memory.max' : 'memory.limit_in_bytes'),
    'utf8',
  ).trim();

const WAYS = [
  ...(available.ok && CGROUPS ? [['this machine’s cgroups', undefined] as const] : []),
  // A plain user's cgroups are found below its own (delegated) one, which a fake hierarchy lacks.
  ...(process.getuid?.() === 0 ? [['a fake v2 hierarchy', fakeV2] as const] : []),
];

// As a plain user with no cgroup of its own to write (CI's run without one), there is none.
test.runIf(WAYS.length === 0)('no writable cgroup hierarchy here: no spares to make', async () => {
  expect(CGROUPS).toBe(false);
  const sandbox = createSandbox();
  cleanups.push(() => sandbox.settled());
  const plan = await launch(sandbox);
  await over(plan);
  expect(dirsOf(plan)).toEqual([]);
  expect(cgroupSpares()).toEqual([]);
});

describe.each(WAYS)('spare cgroups, on %s', (_, fake) => {
  const sandboxOf = (): Sandbox => {
    const sandbox = createSandbox(fake === undefined ? {} : { cgroupRoot: fake() });
    cleanups.push(() => sandbox.settled());
    return sandbox;
  };

  test('a launch takes the spare its predecessor left: renamed into place, its limits written, the next one made', async () => {
    const sandbox = sandboxOf();
    const first = await launch(sandbox);
    cleanups.push(() => first.dispose());
    await turn();
    // Not while the execution that found none runs: once it is over.
    expect(cgroupSpares()).toEqual([]);
    await over(first);
    const spare = cgroupSpares();
    expect(spare.length).toBe(dirsOf(first).length);
    expect(spare.map((dir) => basename(dir))).toEqual(spare.map(() => basename(spare[0]!)));
    expect(basename(spare[0]!)).toMatch(/^spare-/);
    for (const dir of spare) expect(existsSync(dir), dir).toBe(true);

    const second = await launch(sandbox);
    cleanups.push(() => second.dispose());
    // The spare is gone from its name: it is the second launch's now, with that launch's limits.
    for (const dir of spare) expect(existsSync(dir), dir).toBe(false);
    for (const dir of dirsOf(second)) expect(existsSync(dir), dir).toBe(true);
    // The memory cgroup comes first (v1), or is the one (v2).
    expect(memoryLimit(dirsOf(second)[0]!)).toBe(String(256 * 1024 * 1024));
    await over(second);
    const next = cgroupSpares();
    expect(next.length).toBe(spare.length);
    expect(next).not.toEqual(spare);
  });

  // The fake hierarchy shows the v2 layout's rename in the first test; removing its directories
  // (which hold the limit files written into them) takes each test 2 s of retries.
  test.skipIf(fake !== undefined)(
    'another kind of launch (other limits) makes its own cgroups and leaves the spare be',
    async () => {
      const sandbox = sandboxOf();
      const first = await launch(sandbox);
      await over(first);
      const spare = cgroupSpares();
      expect(spare.length).toBeGreaterThan(0);
      const other = await launch(sandbox, 300);
      cleanups.push(() => other.dispose());
      for (const dir of spare) expect(existsSync(dir), dir).toBe(true);
      expect(memoryLimit(dirsOf(other)[0]!)).toBe(String(300 * 1024 * 1024));
    },
  );

  test.skipIf(fake !== undefined)(
    'a spare removed behind the sandbox’s back: the launch makes its cgroups itself',
    async () => {
      const sandbox = sandboxOf();
      await over(await launch(sandbox));
      expect(cgroupSpares().length).toBeGreaterThan(0);
      for (const dir of cgroupSpares()) removeDir(dir);
      const second = await launch(sandbox);
      cleanups.push(() => second.dispose());
      for (const dir of dirsOf(second)) expect(existsSync(dir), dir).toBe(true);
    },
  );

  test.skipIf(fake !== undefined)(
    'settling the sandbox removes its spares, and leaves nothing',
    async () => {
      const sandbox = createSandbox();
      await over(await launch(sandbox));
      const spare = cgroupSpares();
      const temps = tempSpares();
      expect(spare.length).toBeGreaterThan(0);
      expect(temps.length).toBe(1);
      await sandbox.settled();
      expect(heldSpareDirs().size).toBe(0);
      for (const dir of temps) expect(existsSync(dir), dir).toBe(false);
      for (const dir of spare) expect(existsSync(dir), dir).toBe(false);
      expect(toolcageCgroups()).toEqual([]);
    },
  );
});

// A real cgroup is removed by rmdir alone; a fake one holds the files written into it.
function removeDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the host temp dir of an unsandboxed launch', () => {
  test('a spare made 0700 ahead is renamed into place, and the next one made', async () => {
    const sandbox = createSandbox();
    cleanups.push(() => sandbox.settled());
    const first = await launch(sandbox);
    cleanups.push(() => first.dispose());
    expect(statSync(first.cwd).mode & 0o777).toBe(0o700);
    await over(first);
    const [spare] = tempSpares();
    expect(spare).toBeDefined();
    expect(dirname(spare!)).toBe(dirname(first.cwd));
    expect(statSync(spare!).mode & 0o777).toBe(0o700);
    expect(readdirSync(spare!)).toEqual([]);
    const second = await launch(sandbox);
    cleanups.push(() => second.dispose());
    expect(existsSync(spare!)).toBe(false);
    expect(statSync(second.cwd).mode & 0o777).toBe(0o700);
    expect(statSync(second.cwd).uid).toBe(process.getuid?.());
    await over(second);
    expect(tempSpares()).toHaveLength(1);
    expect(tempSpares()).not.toEqual([spare]);
  });

  test('a name taken before the launch: a file there fails it, an empty directory gives way to its own', async () => {
    const sandbox = createSandbox();
    cleanups.push(() => sandbox.settled());
    await over(await launch(sandbox));
    const prepare = (): Promise<LaunchPlan> =>
      sandbox.prepare(
        unsandboxedRequest(`spares-${process.pid}-${++launches}`, '/nonexistent/tool.ts'),
      );
    const onFile = await prepare();
    cleanups.push(() => onFile.dispose());
    writeFileSync(onFile.cwd, 'planted');
    cleanups.push(() => rmSync(onFile.cwd, { force: true }));
    expect(() => onFile.materialize()).toThrow(/EEXIST/);
    expect(readFileSync(onFile.cwd, 'utf8')).toBe('planted');
    // The spare the failed launch spent is made again once it is over (its dispose, which
    // removes what is at its name).
    await over(onFile);
    expect(tempSpares()).toHaveLength(1);
    const onDir = await prepare();
    cleanups.push(() => onDir.dispose());
    mkdirSync(onDir.cwd, { mode: 0o777 });
    chmodSync(onDir.cwd, 0o777);
    onDir.materialize();
    expect(statSync(onDir.cwd).mode & 0o777).toBe(0o700);
  });
});
