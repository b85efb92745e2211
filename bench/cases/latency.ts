import { closeSync } from 'node:fs';
import { runBare } from '../bare.js';
import { isBwrap, loadSandbox, withoutPrologue } from '../sandbox-plan.js';
import {
  BARE_BUN,
  BARE_BUN_ARGS,
  BARE_REQUEST,
  BARE_SCRIPT,
  BUN,
  BUNFIG,
  benchRuntime,
  ms,
  trivial,
  TRIVIAL_TOOL,
  until,
  type Row,
} from '../setup.js';
import { interleave, median, timed } from '../stats.js';
import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import type {
  LaunchRequest,
  ResolvedLimits,
  ResolvedPermissions,
  Sandbox,
  SandboxMode,
} from '../../src/sandbox/types.js';

const RUNS = 60;
const WARMUP = 5;

/** Trivial-tool latency: toolcage vs bare bun, sandboxed vs bare bwrap, prewarmed vs cold. */
export async function latencyRows(): Promise<Row[]> {
  return [await unsandboxed(), await sandboxed(), await prewarmed(false), await prewarmed(true)];
}

async function unsandboxed(): Promise<Row> {
  const runtime = benchRuntime();
  try {
    const { a, b } = await interleave(
      RUNS,
      WARMUP,
      () => timed(() => trivial(runtime)),
      () => timed(() => runBare(BARE_BUN, BARE_REQUEST)),
    );
    return ratioRow('latency, sandbox none vs bare `bun`', median(a), median(b), 1.15);
  } finally {
    await runtime.close();
  }
}

// The same profile as toolcage's own launch of the trivial tool: default permissions and limits.
const PERMISSIONS: ResolvedPermissions = { read: [], write: [], net: false, env: [], run: false };
const LIMITS: ResolvedLimits = DEFAULT_LIMITS;

// The launch of the bare script under the trivial tool's profile.
function bareLaunch(executionId: string, mode: SandboxMode): LaunchRequest {
  return {
    launchId: executionId,
    bunPath: BUN,
    bunArgs: BARE_BUN_ARGS,
    toolPath: TRIVIAL_TOOL,
    runtimeFiles: [BUN, BARE_SCRIPT, BUNFIG],
    env: {},
    permissions: PERMISSIONS,
    limits: LIMITS,
    mode,
  };
}

/**
 * A bare `bwrap … bun bare-worker.ts`: the sandbox's own plan for the trivial tool, prepared
 * (untimed) for each run because it holds single-use parts (the seccomp descriptor bwrap reads,
 * the private temp dir), with the bare script in place of the worker. Only the bwrap command is
 * spawned: toolcage's wrapper around it (joining the cgroups, rlimits) is toolcage's own cost.
 */
async function bareBwrapRun(sandbox: Sandbox): Promise<number> {
  const plan = await sandbox.prepare(
    bareLaunch(`bench-bare-${Math.random().toString(36).slice(2)}`, 'bwrap'),
  );
  try {
    // The temp dir and cgroups the bwrap command binds (toolcage makes them while its prologue
    // starts; the bare run has no prologue, and this is outside the timing).
    plan.materialize();
    const command = withoutPrologue(plan);
    try {
      return await timed(() => runBare(command, BARE_REQUEST));
    } finally {
      for (const fd of command.extraFds) closeSync(fd);
    }
  } finally {
    await plan.dispose();
  }
}

async function sandboxed(): Promise<Row> {
  const figure = 'latency, sandboxed vs bare `bwrap … bun`';
  const sandbox = loadSandbox();
  const probe = await sandbox.prepare(bareLaunch('bench-probe', 'auto')).catch(() => undefined);
  const available = probe !== undefined && isBwrap(probe);
  await probe?.dispose();
  if (!available) {
    return {
      figure,
      measured: 'not measured: bubblewrap is not usable here',
      baseline: '–',
      value: '–',
      target: '≤ 1.20×',
      pass: undefined,
    };
  }
  const runtime = benchRuntime({ sandbox: 'bwrap' });
  try {
    const { a, b } = await interleave(
      RUNS,
      WARMUP,
      () => timed(() => trivial(runtime)),
      () => bareBwrapRun(sandbox),
    );
    return ratioRow(figure, median(a), median(b), 1.2);
  } finally {
    await runtime.close();
  }
}

// The prewarmed call is made once the pool has refilled and its process has had time to boot
// (an engine whose calls are a little spaced out): the figure is the latency such a call sees,
// not the pool's refill rate (throughput covers that). A process counts as idle as soon as it is
// spawned; Bun needs ≈ 8 ms more to reach its stdin read, hence the settle time.
const BOOT_MS = 40;

async function poolReady(runtime: {
  readonly stats: { readonly idleProcesses: number };
}): Promise<void> {
  await until(() => runtime.stats.idleProcesses >= 1);
  await new Promise((resolve) => setTimeout(resolve, BOOT_MS));
}

async function prewarmed(preload: boolean): Promise<Row> {
  const warm = benchRuntime({ prewarm: 1, tools: { trivial: { path: 'ok-sync.ts', preload } } });
  const cold = benchRuntime();
  try {
    const { a, b } = await interleave(
      RUNS,
      WARMUP,
      async () => {
        await poolReady(warm);
        return timed(() => trivial(warm));
      },
      async () => {
        // Not while the warm pool refills: that would load the cold run and flatter the ratio.
        await poolReady(warm);
        return timed(() => trivial(cold));
      },
    );
    const figure = preload
      ? 'latency, prewarmed + preload vs cold'
      : 'latency, prewarmed vs cold (toolcage)';
    return ratioRow(figure, median(a), median(b), 0.35);
  } finally {
    await Promise.all([warm.close(), cold.close()]);
  }
}

function ratioRow(figure: string, measured: number, baseline: number, max: number): Row {
  const ratio = measured / baseline;
  return {
    figure,
    measured: ms(measured),
    baseline: ms(baseline),
    value: `${ratio.toFixed(3)}×`,
    target: `≤ ${max.toFixed(2)}×`,
    pass: ratio <= max,
  };
}
