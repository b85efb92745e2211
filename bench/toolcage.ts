import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { closeOnSignals as CloseOnSignals } from '../src/runtime/close-on-signals.js';
import type { Launcher as LauncherClass } from '../src/runtime/launcher-client.js';
import type { createToolRuntime as CreateToolRuntime } from '../src/runtime/runtime.js';
import type { spawnPlan as SpawnPlan } from '../src/runtime/spawn.js';
import type { createSandbox as CreateSandbox } from '../src/sandbox/sandbox.js';

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

// The modules themselves, not dist/index.js: the memory figures are the runtime's alone.
const dist = {
  ...(await fromDist<{ createToolRuntime: typeof CreateToolRuntime }>('runtime/runtime.js')),
  ...(await fromDist<{ closeOnSignals: typeof CloseOnSignals }>('runtime/close-on-signals.js')),
};

// vite-node, which runs the bench, starts a vite server whose SIGTERM listener exits at once
// (process.exit after closing the server): the runtimes would not be closed. Without it, the
// runtimes' handlers below decide, and the bench ends by the signal once they are closed.
process.removeAllListeners('SIGTERM');

/**
 * dist's createToolRuntime, with every runtime closed when the bench is stopped (SIGINT,
 * SIGTERM: `timeout` sends one): its executions are killed and their sandboxes removed before
 * the bench ends by that signal.
 */
export const createToolRuntime: typeof CreateToolRuntime = (options) => {
  const runtime = dist.createToolRuntime(options);
  const stopOnSignals = dist.closeOnSignals(runtime);
  const close = runtime.close.bind(runtime);
  runtime.close = () => {
    stopOnSignals();
    return close();
  };
  return runtime;
};

/**
 * dist's sandbox, for the baselines that run a plan's command themselves: the same module as the
 * runtimes' (its cgroup bookkeeping is per module: a manager's directory that a closing runtime
 * removed is made again by the next plan of the same module, not of a second copy from src/).
 */
const sandbox = await fromDist<{ createSandbox: typeof CreateSandbox }>('sandbox/sandbox.js');
export const createSandbox: typeof CreateSandbox = sandbox.createSandbox;

// The runtime's own parts, for the breakdown of a call (bench/cases/handwritten.ts).
const spawn = await fromDist<{ spawnPlan: typeof SpawnPlan }>('runtime/spawn.js');
export const spawnPlan: typeof SpawnPlan = spawn.spawnPlan;
const launcher = await fromDist<{ Launcher: typeof LauncherClass }>('runtime/launcher-client.js');
export const Launcher: typeof LauncherClass = launcher.Launcher;

/** The built worker and launcher entries, as the runtime passes them to Bun. */
export const DIST_WORKER = fileURLToPath(new URL('runtime/worker/main.js', DIST));
export const DIST_WORKER_DIR = fileURLToPath(new URL('runtime/worker/', DIST));
export const DIST_LAUNCHER = fileURLToPath(new URL('runtime/launcher/main.js', DIST));

/** A module of the built package (dist/), e.g. `runtime/bundler-host.js`, typed from src/. */
export function distModule<T>(path: string): Promise<T> {
  return fromDist<T>(path);
}
