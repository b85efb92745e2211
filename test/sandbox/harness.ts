/**
 * The sandbox tests' way in: real executions through `createToolRuntime`, the path users run,
 * started either of the two ways a runtime starts a tool process — through its launcher (every
 * call) or by the fallback Node spawns where the launcher cannot run (forced here with
 * launcherUnavailable()) — with a check that each call really took that way.
 */
import { ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';
import {
  isToolExecutionError,
  type ToolExecutionError,
} from '../../src/errors/tool-execution-error.js';
import { resolveBunBinary } from '../../src/runtime/bun-binary.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import type { ToolRuntimeOptions } from '../../src/runtime/runtime-options.js';
import { detectCapabilities, type SandboxCapabilities } from '../../src/sandbox/detect.js';
import type { Enforcement, Limits, Permissions, SandboxMode } from '../../src/sandbox/types.js';
import { settledLeftovers, toolcageCgroups } from '../helpers/leaks.js';
import { launcherUnavailable } from '../helpers/plans.js';
import { fixtureRuntime, FIXTURES } from '../helpers/runtime.js';

export { FIXTURES };

/** Bun, and the worker's command and files as the runtime passes them (for tests of plans). */
export const BUN = resolveBunBinary();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = `${ROOT}src/runtime/worker/main.ts`;
const BUNFIG = `${ROOT}bunfig.toml`;
export const BUN_ARGS = ['--no-install', '--no-env-file', `--config=${BUNFIG}`, WORKER];
export const RUNTIME_FILES = [WORKER, BUNFIG, `${ROOT}src/runtime/worker/`];

/** How a runtime starts a tool's process. */
export type SpawnWay = 'launcher' | 'fallback';
export const SPAWN_WAYS: readonly SpawnWay[] = ['launcher', 'fallback'];

/** What one execution gave: its output and enforcement, or its error. */
export type SandboxRun =
  | { readonly ok: true; readonly output: unknown; readonly enforcement: Enforcement }
  | { readonly ok: false; readonly error: ToolExecutionError };

export interface RunOptions {
  /** The tool's permissions (the runtime's defaults: a call could only narrow them). */
  readonly permissions?: Permissions;
  /** The tool's limits (the runtime's defaults). */
  readonly limits?: Limits;
  readonly input?: unknown;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** @default 'bwrap' */
  readonly mode?: SandboxMode;
  readonly onLog?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** More runtime options (`sandboxUser`, `requireCgroups`, …). */
  readonly runtime?: ToolRuntimeOptions;
}

/**
 * Runs `tools-fixtures/<fixture>` once through a runtime of its own, started `way`, and closes
 * the runtime (every process, temp dir and cgroup of the call gone) before returning.
 */
export async function runFixture(
  way: SpawnWay,
  fixture: string,
  options: RunOptions = {},
): Promise<SandboxRun> {
  const runtime = fixtureRuntime({
    ...options.runtime,
    sandbox: options.mode ?? 'bwrap',
    defaults: {
      ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    },
  });
  // Node's spawn() of a tool process is the fallback: `child_process.spawn()` starts every
  // process through ChildProcess.prototype.spawn (not in @types/node). The launcher's own start
  // and the detection probes pass three stdio descriptors, a tool process four or more.
  const prototype = ChildProcess.prototype as unknown as { spawn(options: SpawnOptions): void };
  const spawns = vi.spyOn(prototype, 'spawn');
  const nodeSpawns = (): number =>
    spawns.mock.calls.filter(([spawnOptions]) => (spawnOptions.stdio?.length ?? 0) >= 4).length;
  const restore = way === 'fallback' ? launcherUnavailable() : () => {};
  try {
    const run = await execute(runtime, fixture, options);
    // Without a pids cgroup, `run` is bounded by RLIMIT_NPROC, which only the launcher sets:
    // the fallback refuses such a launch rather than start it unbounded.
    const launcherOnly = !CGROUPS && options.mode !== 'none' && options.permissions?.run === true;
    if (way === 'fallback' && launcherOnly) {
      expect(run.ok ? undefined : run.error.message).toContain(
        'the toolcage launcher is not running, and its process limit is an RLIMIT_NPROC',
      );
      expect(nodeSpawns(), `${fixture} was started without its RLIMIT_NPROC`).toBe(0);
      // The wall itself is then checked where such a launch runs: through the launcher.
      restore();
      return await execute(runtime, fixture, options);
    }
    expect(nodeSpawns(), `${fixture} was not started by the ${way}`).toBe(
      way === 'fallback' ? 1 : 0,
    );
    return run;
  } finally {
    restore();
    spawns.mockRestore();
    await runtime.close();
  }
}

async function execute(
  runtime: ToolRuntime,
  fixture: string,
  options: RunOptions,
): Promise<SandboxRun> {
  try {
    const result = await runtime.executeToolWithTimeout({
      toolPath: fixture,
      input: options.input ?? null,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
    });
    return { ok: true, output: result.output, enforcement: result.enforcement };
  } catch (error) {
    if (!isToolExecutionError(error)) throw error;
    return { ok: false, error };
  }
}

/** The error of a run that must have failed. */
export function failure(run: SandboxRun): ToolExecutionError {
  if (run.ok) throw new Error(`expected a failure, got ${JSON.stringify(run.output)}`);
  return run.error;
}

/** The output of a run that must have succeeded. */
export function output(run: SandboxRun): unknown {
  if (!run.ok) throw new Error(`${run.error.kind}: ${run.error.message}\n${run.error.logs.stderr}`);
  return run.output;
}

/** The capabilities detected here (cached by the sandbox's detection). */
export const CAPABILITIES: SandboxCapabilities = await detectCapabilities();

/** The mechanism of the memory and process limits on this machine's cgroup version. */
export const CGROUP_MECHANISM = CAPABILITIES.cgroup.version === 'v2' ? 'cgroup-v2' : 'cgroup-v1';

/**
 * Whether executions get memory and pids cgroups here. `TOOLCAGE_TEST_CGROUPS=none` says a run
 * has none on purpose (CI's unprivileged run without a delegated subtree): the sandbox then
 * bounds memory and processes by rlimits, and the tests expect those.
 */
export const CGROUPS = CAPABILITIES.cgroup.memory && CAPABILITIES.cgroup.pids;
const NO_CGROUPS_EXPECTED = process.env['TOOLCAGE_TEST_CGROUPS'] === 'none';

/** How memory of `memoryMb` is enforced here (the rlimit never goes below what Bun needs). */
export function memoryEnforced(memoryMb: number): { mechanism: string; limitMb: number } {
  return CGROUPS
    ? { mechanism: CGROUP_MECHANISM, limitMb: memoryMb }
    : { mechanism: 'rlimit-data', limitMb: Math.max(memoryMb, 320) };
}

/**
 * How running out of memory under `memoryMb` is classified here: `out_of_memory` from the memory
 * cgroup's events; without one, `resource_limit` with `limit: 'memory'` (Bun's own report under
 * RLIMIT_DATA, which toolcage does not vouch for).
 */
export function expectOutOfMemory(error: ToolExecutionError): void {
  if (CGROUPS) expect(error.kind).toBe('out_of_memory');
  else expect(error).toMatchObject({ kind: 'resource_limit', limit: 'memory' });
}

/** How `maxProcesses` is enforced here, with `run` or without. */
export function processesEnforced(
  limit: number,
  run: boolean,
): { mechanism: string; limit?: number } {
  if (CGROUPS) return { mechanism: CGROUP_MECHANISM, limit };
  return run ? { mechanism: 'rlimit-nproc', limit } : { mechanism: 'seccomp' };
}

/**
 * Whether the sandbox tests can run here. With `TOOLCAGE_REQUIRE_ALL=1` a missing bubblewrap
 * fails the suite instead of skipping it.
 */
export async function sandboxAvailability(): Promise<{ ok: boolean; reason: string }> {
  const caps = await detectCapabilities();
  const bun = BUN;
  const cgroups = caps.cgroup.memory && caps.cgroup.pids;
  if (NO_CGROUPS_EXPECTED && cgroups) {
    throw new Error(
      `TOOLCAGE_TEST_CGROUPS=none, but cgroups are writable here (${caps.cgroup.detail})`,
    );
  }
  const missing = [
    !caps.bwrap.works && `bubblewrap (${caps.bwrap.detail})`,
    !NO_CGROUPS_EXPECTED && !caps.cgroup.memory && `memory cgroup (${caps.cgroup.detail})`,
    !NO_CGROUPS_EXPECTED && !caps.cgroup.pids && 'pids cgroup',
    !existsSync(bun) && `Bun at ${bun}`,
  ].filter((m): m is string => typeof m === 'string');
  if (missing.length === 0) return { ok: true, reason: '' };
  const reason = `SANDBOX TESTS SKIPPED: missing ${missing.join(', ')} (apt-get install bubblewrap; for cgroups run as root or in a delegated subtree, or set TOOLCAGE_TEST_CGROUPS=none to test the rlimit bounds)`;
  if (process.env['TOOLCAGE_REQUIRE_ALL'] === '1')
    throw new Error(`TOOLCAGE_REQUIRE_ALL=1: ${reason}`);
  console.warn(reason);
  return { ok: false, reason };
}

/**
 * How many forks the pids limit `limit` has refused in this process's cgroups so far (the `max`
 * count of `pids.events`, on cgroup v1 and v2 alike).
 */
export function refusedForks(limit: number): number {
  let refused = 0;
  for (const dir of toolcageCgroups()) {
    try {
      if (readFileSync(join(dir, 'pids.max'), 'utf8').trim() !== String(limit)) continue;
      const events = readFileSync(join(dir, 'pids.events'), 'utf8');
      refused += Number(/^max (\d+)/m.exec(events)?.[1] ?? 0);
    } catch {
      // Not a pids cgroup, or gone meanwhile.
    }
  }
  return refused;
}

/**
 * After a test of runs: none of their processes, temp dirs or cgroups is left (waiting a
 * little, as the kernel reaps a killed sandbox asynchronously).
 */
export async function expectRunsLeftNothing(baselineFds: number): Promise<void> {
  const left = await settledLeftovers(baselineFds + 1, 5_000);
  expect(left.processes).toEqual([]);
  expect(left.tempDirs).toEqual([]);
  expect(left.cgroups).toEqual([]);
}
