import { fileURLToPath } from 'node:url';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import type { ToolRuntimeOptions } from '../../src/runtime/options.js';
import type { SandboxMode } from '../../src/sandbox/types.js';

/** The fixtures directory (absolute, with a trailing slash). */
export const FIXTURES = fileURLToPath(new URL('../../tools-fixtures/', import.meta.url));

/**
 * The sandbox mode of the core tests: `TOOLCAGE_TEST_SANDBOX`, else `auto` (bubblewrap, which CI
 * installs). The core behaves the same in every mode; the sandbox tests cover what differs.
 */
export const TEST_SANDBOX = (process.env['TOOLCAGE_TEST_SANDBOX'] ?? 'auto') as SandboxMode;

/** A runtime over the fixtures, telemetry off unless given. */
export function fixtureRuntime(options: ToolRuntimeOptions = {}): ToolRuntime {
  return createToolRuntime({
    rootDir: FIXTURES,
    sandbox: TEST_SANDBOX,
    telemetry: false,
    ...options,
  });
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
