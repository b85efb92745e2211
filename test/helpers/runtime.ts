import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '../../src/bundling/cache.js';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import type { ToolRuntimeOptions } from '../../src/runtime/runtime-options.js';
import { detectCapabilities } from '../../src/sandbox/detect.js';
import type { SandboxMode } from '../../src/sandbox/types.js';

/** The fixtures directory (absolute, with a trailing slash). */
export const FIXTURES = fileURLToPath(new URL('../../tools-fixtures/', import.meta.url));

/**
 * The build cache of the tests: `$XDG_CACHE_HOME/toolcage`, which vitest.config.ts points into
 * the worktree (kept between runs like a user's, never the user's own). Tests of the cache
 * itself use a directory of their own.
 */
export const TEST_CACHE_DIR = defaultCacheDir();

/**
 * The sandbox mode of the core tests: `TOOLCAGE_TEST_SANDBOX`, else `auto` (bubblewrap, which CI
 * installs). The core behaves the same in every mode; the sandbox tests cover what differs.
 * Without a usable bubblewrap they run unsandboxed, loudly — or fail under TOOLCAGE_REQUIRE_ALL=1.
 */
export const TEST_SANDBOX: SandboxMode = await chooseTestSandbox();

async function chooseTestSandbox(): Promise<SandboxMode> {
  const chosen = process.env['TOOLCAGE_TEST_SANDBOX'];
  if (chosen !== undefined) return chosen as SandboxMode;
  if (process.env['TOOLCAGE_REQUIRE_ALL'] === '1') return 'auto';
  const capabilities = await detectCapabilities();
  if (capabilities.bwrap.works) return 'auto';
  console.warn(
    `*** bubblewrap is not usable here (${capabilities.bwrap.detail}): the core tests run with ` +
      "sandbox: 'none' (apt-get install bubblewrap to run them sandboxed). ***",
  );
  return 'none';
}

/** A runtime over the fixtures, telemetry off unless given. */
export function fixtureRuntime(options: ToolRuntimeOptions = {}): ToolRuntime {
  return createToolRuntime({
    rootDir: FIXTURES,
    sandbox: TEST_SANDBOX,
    telemetry: false,
    cacheDir: TEST_CACHE_DIR,
    ...options,
  });
}

/**
 * Runs `body` with a runtime over the fixtures (see {@link fixtureRuntime}) and closes it
 * whatever happens, so nothing of it outlives the test's body and the leak checks after it hold.
 */
export async function withRuntime<T>(body: (runtime: ToolRuntime) => Promise<T>): Promise<T>;
export async function withRuntime<T>(
  options: ToolRuntimeOptions,
  body: (runtime: ToolRuntime) => Promise<T>,
): Promise<T>;
export async function withRuntime<T>(
  ...args:
    | [(runtime: ToolRuntime) => Promise<T>]
    | [ToolRuntimeOptions, (runtime: ToolRuntime) => Promise<T>]
): Promise<T> {
  const [options, body] = args.length === 1 ? [{}, args[0]] : args;
  const runtime = fixtureRuntime(options);
  try {
    return await body(runtime);
  } finally {
    await runtime.close();
  }
}

/** The rejection of a promise that must reject (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value).slice(0, 200)}`);
  } catch (error) {
    return error as Record<string, unknown>;
  }
}

/** Resolves once a log line containing `text` has been streamed (the fixture is ready). */
export function waitForLine(text: string): {
  onLog: (stream: string, line: string) => void;
  ready: Promise<void>;
} {
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  return { onLog: (_stream, line) => line.includes(text) && resolveReady(), ready };
}

/**
 * Runs a fixture that logs `ready` (forever.ts, ignores-sigterm.ts, abort-aware.ts) until it does, then cancels
 * it: its bundle is built and cached then. For a test about a running tool, whose deadline or
 * kill must not fall on the build of a clean checkout (CI) on a loaded machine.
 */
export async function runUntilReady(runtime: ToolRuntime, toolPath: string): Promise<void> {
  const controller = new AbortController();
  const { onLog, ready } = waitForLine('ready');
  const run = rejectionOf(
    runtime.executeToolWithTimeout({ toolPath, signal: controller.signal, onLog }),
  );
  await ready;
  controller.abort();
  expect((await run)['kind']).toBe('cancelled');
}
