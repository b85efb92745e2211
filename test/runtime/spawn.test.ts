import { afterEach, beforeAll, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { runProcess } from '../../src/runtime/run-process.js';
import { spawnPlan } from '../../src/runtime/spawn.js';
import type { Launcher } from '../../src/runtime/launcher-client.js';
import { NO_HINTS } from '../../src/sandbox/classify-hints.js';
import type { LaunchPlan } from '../../src/sandbox/types.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { readyLauncher, shellPlan } from '../helpers/plans.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

// A plan whose process waits for its `go` (like the sandbox's prologue) and whose
// materialisation fails, as a cgroup that cannot be created would.
function failingPlan(): LaunchPlan {
  return shellPlan('read -r go && exec sleep 4242', {
    materialize: () => {
      throw new Error('mkdir /sys/fs/cgroup/pids/toolcage/1/x: EACCES');
    },
  });
}

// Both ways a process is started: by the manager itself, and through a launcher that is up.
test.each(['directly', 'through the launcher'] as const)(
  'a launch whose sandbox cannot be set up is spawn_failed, and its waiting process is killed (%s)',
  async (how) => {
    const launcher = how === 'directly' ? undefined : await readyLauncher();
    try {
      await expectSetupFailure(launcher);
    } finally {
      await launcher?.close();
    }
  },
);

async function expectSetupFailure(launcher: Launcher | undefined): Promise<void> {
  const plan = failingPlan();
  const outcome = await runProcess(await spawnPlan(plan, launcher), plan, {
    toolId: 'x',
    request: {
      executionId: 'e',
      toolId: 'x',
      toolPath: '/nonexistent.ts',
      exportName: 'default',
      env: {},
      input: null,
      config: {},
    },
    timeoutMs: 10_000,
    maxOutputBytes: 1024,
    maxLogBytes: 1024,
    killGraceMs: 0,
    signal: new AbortController().signal,
    onLog: undefined,
    explain: () => NO_HINTS,
  });
  expect(outcome.verdict).toMatchObject({ ok: false, kind: ErrorKind.SpawnFailed });
  expect(outcome.verdict.ok ? '' : outcome.verdict.message).toContain(
    'could not be started: sandbox setup failed: mkdir /sys/fs/cgroup/pids/toolcage/1/x: EACCES',
  );
  expect(outcome.end.signal).toBe('SIGKILL');
}
