/**
 * A launch plan around a plain command, with nothing of a sandbox: for tests of the launcher and
 * spawn, and the bench's measure of starting inside a cgroup (no vitest here, so the bench can
 * import it).
 */
import type { Enforcement, LaunchPlan } from '../../src/sandbox/types.js';

/** A launch plan that runs `sh -c <script>` and nothing of a sandbox around it. */
export function shellPlan(script: string, extra: Partial<LaunchPlan> = {}): LaunchPlan {
  return {
    file: '/bin/sh',
    args: ['-c', script],
    env: {},
    cwd: '/',
    enforcement: { kill: 'process-group' } as Enforcement,
    confinement: { rlimits: [] },
    fallback: { file: '/bin/sh', args: ['-c', script] },
    materialize: () => {},
    terminate() {},
    killAll() {},
    killsAll: false,
    inspect: () => Promise.resolve({ memoryExceeded: false, processesExceeded: false }),
    dispose: () => Promise.resolve(),
    ...extra,
  };
}
