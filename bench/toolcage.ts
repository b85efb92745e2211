import { existsSync } from 'node:fs';
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
const specifier = DIST.href;
const dist = (await import(specifier)) as { createToolRuntime: typeof CreateToolRuntime };

export const createToolRuntime: typeof CreateToolRuntime = dist.createToolRuntime;

/** A module of the built package (dist/), e.g. `build/create-bundler.js`, typed from src/. */
export async function distModule<T>(path: string): Promise<T> {
  const url = new URL(`../dist/${path}`, import.meta.url).href;
  return (await import(url)) as T;
}
