/**
 * The performance target: a trivial tool through the sandbox (prepare, cgroups, the sh
 * prologue, bwrap, Bun, inspect, dispose) costs at most 1.2× a bare `bwrap … bun` with the same
 * bwrap command line. Medians of interleaved runs, measured in this one process.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveLimits } from '../../src/sandbox/limits.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { buildSeccompProgram } from '../../src/sandbox/seccomp.js';
import type { LaunchPlan } from '../../src/sandbox/types.js';
import { BUN, BUN_ARGS, FIXTURES, RUNTIME_FILES, sandboxAvailability } from './harness.js';

const available = await sandboxAvailability();
// A timing ratio is only meaningful on a quiet machine: opt in with TOOLCAGE_PERF=1.
const perf = process.env['TOOLCAGE_PERF'] === '1';
const ROUNDS = 31;
const TOOL = `${FIXTURES}ok-sync.ts`;
const REQUEST = `${JSON.stringify({ executionId: 'x', toolId: 'ok', toolPath: TOOL, exportName: 'default', env: {}, input: null, config: {} })}\n`;

// Spawns like the runtime does (detached, stdio + result pipe + extra fds) and waits for close.
function runOnce(
  file: string,
  args: readonly string[],
  cwd: string,
  extraFds: readonly number[],
): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(file, [...args], {
      cwd,
      env: {},
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', ...extraFds],
    });
    child.stdin!.end(REQUEST);
    child.stdout!.resume();
    child.stderr!.resume();
    (child.stdio[3] as NodeJS.ReadableStream).resume();
    child.on('close', (code) => resolve(code));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe.skipIf(!available.ok || !perf)('sandbox overhead', () => {
  test(`a trivial tool costs ≤ 1.2× bare bwrap + bun (median of ${ROUNDS})`, async () => {
    const sandbox = createSandbox();
    const request = () => ({
      executionId: randomUUID(),
      bunPath: BUN,
      bunArgs: BUN_ARGS,
      toolPath: TOOL,
      runtimeFiles: RUNTIME_FILES,
      env: {},
      permissions: resolvePermissions(),
      limits: resolveLimits(),
      mode: 'bwrap' as const,
    });
    // The bare command line: exactly the plan's bwrap argv, with its own temp dir and seccomp file.
    const sample: LaunchPlan = await sandbox.prepare(request());
    const bareTmp = mkdtempSync(join(tmpdir(), 'sbx-bare-'));
    const program = join(bareTmp, 'seccomp.bpf');
    writeFileSync(program, buildSeccompProgram({ arch: 'x64', allowProcesses: false }));
    const bwrapAt = sample.args.findIndex((arg) => arg.endsWith('/bwrap'));
    const bare = sample.args
      .slice(bwrapAt + 1)
      .map((arg) => (/\/toolcage-[^/]+$/.test(arg) ? bareTmp : arg));
    await sample.dispose();

    const timings = { bare: [] as number[], plan: [] as number[] };
    try {
      for (let round = 0; round < ROUNDS + 3; round++) {
        let started = performance.now();
        const fd = openSync(program, 'r');
        expect(await runOnce('/usr/bin/bwrap', bare, '/', [fd])).toBe(0);
        closeSync(fd);
        const bareMs = performance.now() - started;

        started = performance.now();
        const plan = await sandbox.prepare(request());
        expect(await runOnce(plan.file, plan.args, plan.cwd, plan.extraFds ?? [])).toBe(0);
        plan.killAll();
        await plan.inspect();
        await plan.dispose();
        const planMs = performance.now() - started;
        if (round >= 3) {
          timings.bare.push(bareMs);
          timings.plan.push(planMs);
        }
      }
    } finally {
      rmSync(bareTmp, { recursive: true, force: true });
    }
    const ratio = median(timings.plan) / median(timings.bare);
    console.log(
      `sandbox overhead: bare bwrap+bun ${median(timings.bare).toFixed(1)} ms, toolcage plan ${median(timings.plan).toFixed(1)} ms, ratio ${ratio.toFixed(2)}`,
    );
    expect(ratio).toBeLessThanOrEqual(1.2);
  });
});
