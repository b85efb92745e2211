/**
 * Runs a fixture through the real sandbox, the real worker and the runtime's own process driver
 * (`spawnPlan` + `runProcess`), classified with the sandbox's hints: end to end below the
 * runtime's queue and options, so these tests do not depend on how the runtime is wired.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveBunBinary } from '../../src/runtime/bun-binary.js';
import { runProcess, type ProcessOutcome } from '../../src/runtime/run-process.js';
import { spawnPlan } from '../../src/runtime/spawn.js';
import { explainFailure } from '../../src/sandbox/classify-hints.js';
import { detectCapabilities } from '../../src/sandbox/detect.js';
import { resolveLimits } from '../../src/sandbox/limits.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { Enforcement, Limits, Permissions, SandboxMode } from '../../src/sandbox/types.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = `${ROOT}tools-fixtures/`;
const WORKER = `${ROOT}src/runtime/worker/main.ts`;
const BUNFIG = `${ROOT}bunfig.toml`;
export const BUN = resolveBunBinary();
export const BUN_ARGS = ['--no-install', '--no-env-file', `--config=${BUNFIG}`, WORKER];
export const RUNTIME_FILES = [WORKER, BUNFIG, `${ROOT}src/runtime/worker/`];

/** What one sandboxed run produced. */
export interface SandboxRun extends ProcessOutcome {
  readonly enforcement: Enforcement;
  readonly executionId: string;
}

export interface RunOptions {
  readonly permissions?: Permissions;
  readonly limits?: Limits;
  readonly input?: unknown;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  readonly mode?: SandboxMode;
  readonly onLog?: (stream: 'stdout' | 'stderr', line: string) => void;
}

const sandbox = createSandbox();

/** Runs `tools-fixtures/<fixture>` once, sandboxed, and disposes everything before returning. */
export async function runFixture(fixture: string, options: RunOptions = {}): Promise<SandboxRun> {
  const toolPath = `${FIXTURES}${fixture}`;
  const executionId = randomUUID();
  const permissions = resolvePermissions(options.permissions ?? {});
  const limits = resolveLimits(options.limits ?? {});
  const plan = await sandbox.prepare({
    executionId,
    bunPath: BUN,
    bunArgs: BUN_ARGS,
    toolPath,
    runtimeFiles: RUNTIME_FILES,
    env: {},
    permissions,
    limits,
    mode: options.mode ?? 'bwrap',
  });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort('timeout'), options.timeoutMs ?? 10_000);
  try {
    const child = await spawnPlan(plan);
    const outcome = await runProcess(child, plan, {
      toolId: fixture.replace(/\.ts$/, ''),
      request: {
        executionId,
        toolId: fixture.replace(/\.ts$/, ''),
        toolPath,
        exportName: 'default',
        env: options.env ?? {},
        input: options.input ?? null,
        config: {},
      },
      timeoutMs: options.timeoutMs ?? 10_000,
      maxOutputBytes: limits.maxOutputBytes,
      maxLogBytes: limits.maxLogBytes,
      killGraceMs: 0,
      signal: controller.signal,
      onLog: options.onLog,
      explain: (message, end, report) =>
        explainFailure(message, end, report, permissions, plan.enforcement, {
          visible: [FIXTURES, BUN, ...RUNTIME_FILES],
          limits,
        }),
    });
    return { ...outcome, enforcement: plan.enforcement, executionId };
  } finally {
    clearTimeout(timer);
    await plan.dispose();
  }
}

/**
 * Whether the sandbox tests can run here. With `TOOLCAGE_REQUIRE_ALL=1` a missing bubblewrap
 * fails the suite instead of skipping it.
 */
export async function sandboxAvailability(): Promise<{ ok: boolean; reason: string }> {
  const caps = await detectCapabilities();
  const missing = [
    !caps.bwrap.works && `bubblewrap (${caps.bwrap.detail})`,
    !caps.cgroup.memory && `memory cgroup (${caps.cgroup.detail})`,
    !caps.cgroup.pids && 'pids cgroup',
    !existsSync(BUN) && `Bun at ${BUN}`,
  ].filter((m): m is string => typeof m === 'string');
  if (missing.length === 0) return { ok: true, reason: '' };
  const reason = `SANDBOX TESTS SKIPPED: missing ${missing.join(', ')} (apt-get install bubblewrap; run as root for cgroups)`;
  if (process.env['TOOLCAGE_REQUIRE_ALL'] === '1')
    throw new Error(`TOOLCAGE_REQUIRE_ALL=1: ${reason}`);
  console.warn(reason);
  return { ok: false, reason };
}
