/**
 * Cgroups made ahead (src/sandbox/cgroup-spares.ts): on this machine's own cgroups where they are
 * writable (rename on the real cgroupfs), and over a fake v2 hierarchy in a temp dir.
 */
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { heldSpareDirs } from '../../src/sandbox/cgroup-spares.js';
import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { LaunchPlan, Sandbox } from '../../src/sandbox/types.js';
import { toolcageCgroups } from '../helpers/leaks.js';
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
  const plan = await sandbox.prepare({
    launchId: `spares-${process.pid}-${++launches}`,
    bunPath: '/bin/true',
    bunArgs: [],
    toolPath: join(tmpRoot, 'tool.ts'),
    runtimeFiles: [],
    env: {},
    permissions: { read: [], write: [], net: false, env: [], run: false },
    limits: { ...DEFAULT_LIMITS, memoryMb, maxProcesses: 37 },
    mode: 'none',
  });
  plan.materialize();
  return plan;
}

// A plan's cgroup directories: its v2 cgroup, or the directory of each v1 join.
function dirsOf(plan: LaunchPlan): string[] {
  const { cgroup, joins } = plan.confinement;
  return cgroup !== undefined ? [cgroup] : (joins ?? []).map((join) => dirname(join.file));
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

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
  const plan = await launch(createSandbox());
  cleanups.push(() => plan.dispose());
  await turn();
  expect(dirsOf(plan)).toEqual([]);
  expect(heldSpareDirs().size).toBe(0);
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
    const spare = [...heldSpareDirs()];
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
    await turn();
    const next = [...heldSpareDirs()];
    expect(next.length).toBe(spare.length);
    expect(next).not.toEqual(spare);
  });

  test('another kind of launch (other limits) makes its own cgroups and leaves the spare be', async () => {
    const sandbox = sandboxOf();
    cleanups.push(async () => (await launch(sandbox)).dispose());
    const first = await launch(sandbox);
    cleanups.push(() => first.dispose());
    await turn();
    const spare = [...heldSpareDirs()];
    const other = await launch(sandbox, 300);
    cleanups.push(() => other.dispose());
    for (const dir of spare) expect(existsSync(dir), dir).toBe(true);
    expect(memoryLimit(dirsOf(other)[0]!)).toBe(String(300 * 1024 * 1024));
  });

  test('a spare removed behind the sandbox’s back: the launch makes its cgroups itself', async () => {
    const sandbox = sandboxOf();
    const first = await launch(sandbox);
    cleanups.push(() => first.dispose());
    await turn();
    for (const dir of heldSpareDirs()) removeDir(dir);
    const second = await launch(sandbox);
    cleanups.push(() => second.dispose());
    for (const dir of dirsOf(second)) expect(existsSync(dir), dir).toBe(true);
  });

  test('settling the sandbox removes its spares, and leaves nothing', async () => {
    const sandbox = createSandbox(fake === undefined ? {} : { cgroupRoot: fake() });
    const first = await launch(sandbox);
    await turn();
    const spare = [...heldSpareDirs()];
    expect(spare.length).toBeGreaterThan(0);
    await first.dispose();
    await sandbox.settled();
    expect(heldSpareDirs().size).toBe(0);
    // On the real cgroupfs, gone (a fake directory keeps the limit files written into it).
    if (fake === undefined) {
      for (const dir of spare) expect(existsSync(dir), dir).toBe(false);
      expect(toolcageCgroups()).toEqual([]);
    }
  });
});

// A real cgroup is removed by rmdir alone; a fake one holds the files written into it.
function removeDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}
