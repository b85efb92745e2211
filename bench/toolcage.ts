import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Launcher as LauncherClass } from '../src/runtime/launcher.js';
import type { createToolRuntime as CreateToolRuntime } from '../src/runtime/runtime.js';
import type { spawnPlan as SpawnPlan } from '../src/runtime/spawn.js';

/**
 * The runtime under measurement is the built package (dist/), as users run it: its worker is
 * built by `bun build` and starts faster than src/'s TypeScript worker (see
 * scripts/post-build.mjs). `npm run bench` builds first. Types come from src/, so the bench
 * type-checks without a build; the specifiers are variables so tsc does not resolve dist/.
 */
const DIST = new URL('../dist/', import.meta.url);
if (!existsSync(new URL('runtime/runtime.js', DIST)))
  throw new Error('bench: dist/ is missing; run `npm run build` first (npm run bench does)');

async function fromDist<T>(path: string): Promise<T> {
  const specifier = new URL(path, DIST).href;
  return (await import(specifier)) as T;
}

const runtime = await fromDist<{ createToolRuntime: typeof CreateToolRuntime }>(
  'runtime/runtime.js',
);
export const createToolRuntime: typeof CreateToolRuntime = runtime.createToolRuntime;

// The runtime's own parts, for the breakdown of a call (bench/cases/handwritten.ts).
const spawn = await fromDist<{ spawnPlan: typeof SpawnPlan }>('runtime/spawn.js');
export const spawnPlan: typeof SpawnPlan = spawn.spawnPlan;
const launcher = await fromDist<{ Launcher: typeof LauncherClass }>('runtime/launcher.js');
export const Launcher: typeof LauncherClass = launcher.Launcher;

/** The built worker and launcher entries, as the runtime passes them to Bun. */
export const DIST_WORKER = fileURLToPath(new URL('runtime/worker/main.js', DIST));
export const DIST_WORKER_DIR = fileURLToPath(new URL('runtime/worker/', DIST));
export const DIST_LAUNCHER = fileURLToPath(new URL('runtime/launcher/main.js', DIST));
