import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
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
