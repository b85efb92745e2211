import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { resolveBunBinary } from '../../src/runtime/bun-binary.js';
import { Launcher } from '../../src/runtime/launcher.js';
import type { Enforcement, LaunchPlan } from '../../src/sandbox/types.js';

/** A launch plan that runs `sh -c <script>` and nothing of a sandbox around it. */
export function shellPlan(script: string, extra: Partial<LaunchPlan> = {}): LaunchPlan {
  return {
    file: '/bin/sh',
    args: ['-c', script],
    env: {},
    cwd: '/',
    enforcement: { kill: 'process-group' } as Enforcement,
    materialize: () => '',
    terminate() {},
    killAll() {},
    killsAll: false,
    inspect: () => Promise.resolve({ memoryExceeded: false, processesExceeded: false }),
    dispose: () => Promise.resolve(),
    ...extra,
  };
}

/** A launcher (src/ entry, run as TypeScript) that is up. */
export async function readyLauncher(): Promise<Launcher> {
  const entry = fileURLToPath(new URL('../../src/runtime/launcher/main.ts', import.meta.url));
  const launcher = new Launcher(resolveBunBinary(), entry);
  expect(await launcher.whenReady()).toBe(true);
  return launcher;
}
