import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { spawnPlan } from '../../src/runtime/spawn.js';
import type { Launcher } from '../../src/runtime/launcher-client.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { readyLauncher, shellPlan } from '../helpers/plans.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

// Both ways a process is started: through the launcher, and the fallback Node spawns.
test.each(['through the launcher', 'by the fallback'] as const)(
  'a launch whose sandbox cannot be set up fails before any process starts (%s)',
  async (how) => {
    const launcher = how === 'by the fallback' ? undefined : await readyLauncher();
    const dir = mkdtempSync(join(tmpdir(), 'toolcage-spawn-test-'));
    try {
      const marker = join(dir, 'ran');
      const plan = shellPlan(`touch '${marker}'`, {
        materialize: () => {
          throw new Error('mkdir /sys/fs/cgroup/pids/toolcage/1/x: EACCES');
        },
      });
      await expect(spawnPlan(plan, launcher)).rejects.toThrow(
        'sandbox setup failed: mkdir /sys/fs/cgroup/pids/toolcage/1/x: EACCES',
      );
      expect(existsSync(marker)).toBe(false);
    } finally {
      await launcher?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a launch only the launcher can confine is refused, not started unconfined, when there is no launcher', async () => {
  const plan = shellPlan('exit 0', {
    fallback: {
      unavailable: 'its process limit is an RLIMIT_NPROC that only the toolcage launcher can set',
    },
  });
  await expect(spawnPlan(plan, undefined)).rejects.toThrow(
    'sandbox setup failed: the toolcage launcher is not running, and its process limit is an RLIMIT_NPROC',
  );
});

test('a launcher that cannot start (three failures) leaves launches to the fallback', async () => {
  const { Launcher } = await import('../../src/runtime/launcher-client.js');
  const broken: Launcher = new Launcher('/nonexistent/bun', '/nonexistent/launcher.ts');
  try {
    const plan = shellPlan('echo fallback >&3');
    const child = await spawnPlan(plan, broken);
    const chunks: Buffer[] = [];
    for await (const chunk of child.result) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('fallback\n');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(broken.ready).toBe(false);
  } finally {
    await broken.close();
  }
});
