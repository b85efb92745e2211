import { afterEach, beforeAll, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { runProcess } from '../../src/runtime/run-process.js';
import { spawnPlan } from '../../src/runtime/spawn.js';
import type { Enforcement, LaunchPlan } from '../../src/sandbox/types.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';

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
  return {
    file: '/bin/sh',
    args: ['-c', 'read -r go && exec sleep 4242'],
    env: {},
    cwd: '/',
    enforcement: { kill: 'process-group' } as Enforcement,
    materialize: () => {
      throw new Error('mkdir /sys/fs/cgroup/pids/toolcage/1/x: EACCES');
    },
    terminate() {},
    killAll() {},
    killsAll: false,
    inspect: () => Promise.resolve({ memoryExceeded: false, processesExceeded: false }),
    dispose: () => Promise.resolve(),
  };
}

test('a launch whose sandbox cannot be set up is spawn_failed, and its waiting process is killed', async () => {
  const plan = failingPlan();
  const outcome = await runProcess(await spawnPlan(plan), plan, {
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
    explain: () => ({ denied: undefined, limitHit: undefined, limitDetail: undefined }),
  });
  expect(outcome.verdict).toMatchObject({ ok: false, kind: ErrorKind.SpawnFailed });
  expect(outcome.verdict.ok ? '' : outcome.verdict.message).toContain(
    'could not be started: sandbox setup failed: mkdir /sys/fs/cgroup/pids/toolcage/1/x: EACCES',
  );
  expect(outcome.end.signal).toBe('SIGKILL');
});
