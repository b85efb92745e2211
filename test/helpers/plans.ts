import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';
import { resolveBunBinary } from '../../src/runtime/bun-binary.js';
import { Launcher } from '../../src/runtime/launcher-client.js';

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
