import { existsSync } from 'node:fs';
import type { closeOnSignals as CloseOnSignals } from '../src/runtime/close-on-signals.js';
import type { createToolRuntime as CreateToolRuntime } from '../src/runtime/runtime.js';

/**
 * The runtime under measurement is the built package (dist/), as users run it: its worker is
 * built by `bun build` and starts faster than src/'s TypeScript worker (see
 * scripts/post-build.mjs). `npm run bench` builds first. Types come from src/, so the bench
 * type-checks without a build; the specifier is a variable so tsc does not resolve dist/.
 */
const DIST = new URL('../dist/runtime/runtime.js', import.meta.url);
if (!existsSync(DIST))
  throw new Error('bench: dist/ is missing; run `npm run build` first (npm run bench does)');
// Not dist/index.js: it loads the telemetry SDK, which the memory figures must not include.
const signals = new URL('../dist/runtime/close-on-signals.js', import.meta.url).href;
const dist = {
  ...((await import(DIST.href)) as { createToolRuntime: typeof CreateToolRuntime }),
  ...((await import(signals)) as { closeOnSignals: typeof CloseOnSignals }),
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

/** A module of the built package (dist/), e.g. `build/create-bundler.js`, typed from src/. */
export async function distModule<T>(path: string): Promise<T> {
  const url = new URL(`../dist/${path}`, import.meta.url).href;
  return (await import(url)) as T;
}
