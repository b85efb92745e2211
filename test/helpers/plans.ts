import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';
import { resolveBunBinary } from '../../src/runtime/bun-binary.js';
import { Launcher } from '../../src/runtime/launcher-client.js';
import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import type { LaunchRequest } from '../../src/sandbox/types.js';

export { shellPlan } from './shell-plan.js';

/** A launcher (src/ entry, run as TypeScript) that is up. */
export async function readyLauncher(): Promise<Launcher> {
  const entry = fileURLToPath(new URL('../../src/runtime/launcher/main.ts', import.meta.url));
  const launcher = new Launcher(resolveBunBinary(), entry);
  expect(await launcher.whenReady()).toBe(true);
  return launcher;
}

/**
 * Makes every Launcher behave as one that cannot start here (its three starts failed), so that
 * launches take their plan's fallback, the prologue Node spawns. Returns the undo.
 */
export function launcherUnavailable(): () => void {
  const spies = [
    vi.spyOn(Launcher.prototype, 'ready', 'get').mockReturnValue(false),
    vi.spyOn(Launcher.prototype, 'whenReady').mockResolvedValue(false),
    vi.spyOn(Launcher.prototype, 'spawn').mockReturnValue(undefined),
  ];
  return () => {
    for (const spy of spies) spy.mockRestore();
  };
}

/**
 * An unsandboxed launch of `/bin/true` with no grants (what a test of the plan itself needs:
 * its cgroups, temp dir, confinement), the default limits overridden by `limits`.
 */
export function unsandboxedRequest(
  launchId: string,
  toolPath: string,
  limits: Partial<LaunchRequest['limits']> = {},
): LaunchRequest {
  return {
    launchId,
    bunPath: '/bin/true',
    bunArgs: [],
    toolPath,
    runtimeFiles: [],
    env: {},
    permissions: { read: [], write: [], net: false, env: [], run: false },
    limits: { ...DEFAULT_LIMITS, ...limits },
    mode: 'none',
  };
}
