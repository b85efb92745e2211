/**
 * The sandbox as a plain user runs it (CI runs this file as an unprivileged account twice: in a
 * memory+pids subtree delegated to it, and with no cgroup it may write — TOOLCAGE_TEST_CGROUPS=
 * none). Either way the call is sandboxed, its memory and processes are bounded and classified,
 * and nothing of it is left. Root has its own tests (host-root.test.ts); here it skips loudly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { renderDoctor } from '../../src/cli/doctor.js';
import { ErrorKind } from '../../src/errors/kinds.js';
import { detectCapabilities } from '../../src/sandbox/detect.js';
import { OWNER } from '../helpers/leaks.js';
import { fixtureRuntime, withRuntime } from '../helpers/runtime.js';
import type { ToolExecutionError } from '../../src/errors/tool-execution-error.js';
import {
  CGROUPS,
  expectOutOfMemory,
  failure,
  output,
  runFixture,
  sandboxAvailability,
} from './harness.js';

const uid = process.getuid?.() ?? 0;
if (uid === 0)
  console.warn('UNPRIVILEGED TESTS SKIPPED: running as root (CI runs them as a plain user)');
const available = uid !== 0 && (await sandboxAvailability()).ok;
const caps = await detectCapabilities();

// Processes of this user right now (the manager, its launcher, and every sandboxed process).
function processesOfThisUser(): number {
  return Number(
    execFileSync('ps', ['-U', String(uid), '-o', 'pid='])
      .toString()
      .trim()
      .split('\n').length,
  );
}

describe.runIf(available)('sandboxed as an unprivileged user', () => {
  test('a call runs under bwrap, with its limits where this user may put them', async () => {
    const run = await runFixture('launcher', 'reports-limits.ts');
    if (!run.ok) throw new Error(run.error.message);
    expect(run.enforcement).toMatchObject({ sandbox: 'bwrap', user: { uid, hostRoot: false } });
    const seen = output(run) as { cgroup: string };
    if (CGROUPS) {
      // Inside the subtree delegated to this process: its own cgroup, then toolcage's.
      const own = caps.cgroup.layout;
      expect(caps.cgroup.via).toBe('own');
      expect(run.enforcement.memory.mechanism).toMatch(/^cgroup-v[12]$/);
      expect(seen.cgroup).toContain(`/toolcage/${OWNER}/`);
      expect(own).toBeDefined();
    } else {
      expect(run.enforcement.memory).toEqual({ mechanism: 'rlimit-data', limitMb: 512 });
      expect(seen.cgroup).not.toContain('/toolcage/');
    }
  });

  test('2 GB of heap under memoryMb 256 is out of memory, bounded and classified', async () => {
    const run = await runFixture('launcher', 'sandbox-alloc-2gb.ts', { limits: { memoryMb: 256 } });
    expectOutOfMemory(failure(run));
  });

  test('a fork bomb with `run` is bounded, the host stays usable, and nothing of it survives', async () => {
    const before = processesOfThisUser();
    let peak = 0;
    const watching = setInterval(() => (peak = Math.max(peak, processesOfThisUser())), 50);
    try {
      const run = await runFixture('launcher', 'sandbox-fork-bomb.ts', {
        permissions: { run: true },
        limits: { maxProcesses: 64 },
        timeoutMs: 3_000,
      });
      expect(failure(run).kind).toBe(ErrorKind.Timeout);
    } finally {
      clearInterval(watching);
    }
    // 64 tasks in the sandbox (its threads count too), plus this test's own processes.
    expect(peak - before).toBeLessThanOrEqual(64 + 8);
    expect(execFileSync('/bin/echo', ['host ok'], { encoding: 'utf8' }).trim()).toBe('host ok');
    await vi.waitFor(() => expect(processesOfThisUser()).toBeLessThanOrEqual(before), {
      timeout: 5_000,
    });
  });

  test.runIf(CGROUPS)('afterwards no execution cgroup is left in the subtree', async () => {
    await withRuntime(async (runtime) => {
      await runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts' });
    });
    const layout = caps.cgroup.layout!;
    const bases = layout.version === 'v1' ? [layout.memory, layout.pids] : [layout.root];
    for (const base of bases) {
      const mine = join(base!, 'toolcage', OWNER);
      expect(existsSync(mine) ? readdirSync(mine) : []).toEqual([]);
    }
  });

  test('doctor does not say refused', () => {
    expect(renderDoctor(caps, { width: 200 })).not.toMatch(/refused/);
  });

  test.runIf(!CGROUPS)('with requireCgroups the call is refused, with the remedy', async () => {
    const runtime = fixtureRuntime({ sandbox: 'bwrap', requireCgroups: true });
    try {
      const error = await runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts' }).then(
        () => undefined,
        (reason: unknown) => reason as ToolExecutionError,
      );
      expect(error?.kind).toBe(ErrorKind.SpawnFailed);
      expect(error?.message).toMatch(/by a cgroup/);
      expect(error?.message).toMatch(/delegate a cgroup subtree/);
    } finally {
      await runtime.close();
    }
  });
});
