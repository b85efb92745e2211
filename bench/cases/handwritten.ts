/**
 * toolcage against what a user would write instead: bench/handwritten.ts (stdin in, stdout out)
 * under `bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent
 * --new-session bun file.ts`, and unsandboxed as a bare `bun file.ts`. And where the time between
 * the two goes: a ladder of commands from the hand-written one to a toolcage call, each adding
 * one thing toolcage does, all measured in the same rounds (each round runs every step once, in
 * a rotating order); the difference of two neighbouring medians is what that step costs.
 *
 * Run it alone with `BENCH_ONLY=handwritten npm run bench`.
 */
import { chmodSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Bundling from '../../src/runtime/bundler-host.js';
import type * as Options from '../../src/runtime/runtime-options.js';
import type * as PackageFiles from '../../src/runtime/package-files.js';
import type * as ResolveTool from '../../src/runtime/resolve-tool.js';
import { bunVersion } from '../../src/runtime/bun-binary.js';
import type { Launcher as LauncherClass } from '../../src/runtime/launcher-client.js';
import type { SpawnedProcess } from '../../src/runtime/spawn.js';
import type { WorkerRequest } from '../../src/runtime/worker/protocol.js';
import { detectCapabilities } from '../../src/sandbox/detect.js';
import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import type { LaunchPlan, LaunchRequest, Sandbox, SandboxMode } from '../../src/sandbox/types.js';
import { runBare, runHandwritten, type BareCommand } from '../bare.js';
import { isBwrap, loadSandbox, withoutPrologue } from '../sandbox-plan.js';
import {
  BARE_REQUEST,
  BARE_SCRIPT,
  BUN,
  BUNFIG,
  benchRuntime,
  FIXTURES,
  ms,
  trivial,
  TRIVIAL_TOOL,
  type CaseResult,
  type Row,
} from '../setup.js';
import { median, timed } from '../stats.js';
import {
  DIST_LAUNCHER,
  DIST_WORKER,
  DIST_WORKER_DIR,
  distModule,
  Launcher,
  spawnPlan,
} from '../toolcage.js';

const RUNS = 60;
const WARMUP = 4;

const HANDWRITTEN = fileURLToPath(new URL('../handwritten.ts', import.meta.url));
const INPUT = JSON.stringify({ n: 1 });
export const BUN_FLAGS = ['--no-install', '--no-env-file', `--config=${BUNFIG}`];
// What the runtime gives every worker process (src/runtime/pool.ts).
export const WORKER_ENV = { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0' };
export const workerRequest = (toolPath: string): string =>
  `${JSON.stringify({
    executionId: 'bench',
    toolId: 'trivial',
    toolPath,
    exportName: 'default',
    env: {},
    input: { n: 1 },
    config: {},
  } satisfies WorkerRequest)}\n`;
const WORKER_REQUEST = workerRequest(TRIVIAL_TOOL);

/** toolcage's bundle of the trivial tool (it carries the worker), and the file Bun runs. */
export interface CarrierBundle {
  readonly bundle: string;
  readonly bytecode: string | undefined;
  /** Sandboxed, the bundle is shown at the tool's path; unsandboxed it runs from the cache. */
  readonly entry: string;
}

/** One step of the ladder: a name and one timed run. */
interface Step {
  readonly name: string;
  readonly run: () => Promise<number>;
}

/** The two targets, and the ladder of each mode as a section of RESULTS.md. */
export async function handwrittenRows(): Promise<CaseResult> {
  const sandbox = loadSandbox();
  const launcher = new Launcher(BUN, DIST_LAUNCHER);
  const rows: Row[] = [];
  const sections: string[] = [];
  try {
    if (!(await launcher.whenReady())) throw new Error('bench: the launcher does not start');
    for (const mode of ['bwrap', 'none'] as const) {
      const figure =
        mode === 'bwrap'
          ? 'latency, sandboxed vs hand-written `bwrap … bun file.ts`'
          : 'latency, sandbox none vs hand-written `bun file.ts`';
      const max = mode === 'bwrap' ? 1.2 : 1.1;
      if (mode === 'bwrap' && !(await bwrapUsable(sandbox))) {
        rows.push(notMeasured(figure, max));
        continue;
      }
      const runtime = benchRuntime({ sandbox: mode });
      const cacheDir = mkdtempSync(join(tmpdir(), 'toolcage-bench-cache-'));
      // A root manager builds as the sandbox user (nobody), which must write there.
      chmodSync(cacheDir, 0o777);
      try {
        const carrier = await carrierBundle(mode, cacheDir);
        const { medians, prepareMs } = await measure(
          ladder(mode, sandbox, launcher, runtime, carrier),
        );
        const [first, last] = [medians[0]!, medians.at(-1)!];
        const ratio = last.ms / first.ms;
        rows.push({
          figure,
          measured: ms(last.ms),
          baseline: ms(first.ms),
          value: `${ratio.toFixed(3)}×`,
          target: `≤ ${max.toFixed(2)}×`,
          pass: ratio <= max,
        });
        sections.push(breakdown(mode, medians, prepareMs));
      } finally {
        await runtime.close();
        rmSync(cacheDir, { recursive: true, force: true });
      }
    }
  } finally {
    await launcher.close();
  }
  return { rows, section: sections.join('\n') };
}

// The trivial tool built as a call of `mode` builds it (dist's bundler, into `cacheDir`).
export async function carrierBundle(
  mode: 'bwrap' | 'none',
  cacheDir: string,
): Promise<CarrierBundle> {
  const { createBundler } = await distModule<typeof Bundling>('runtime/bundler-host.js');
  const { normalizeOptions } = await distModule<typeof Options>('runtime/runtime-options.js');
  const { packageFiles } = await distModule<typeof PackageFiles>('runtime/package-files.js');
  const { resolveTool } = await distModule<typeof ResolveTool>('runtime/resolve-tool.js');
  const options = normalizeOptions({ rootDir: FIXTURES, sandbox: mode, cacheDir });
  const bundler = createBundler(options, {
    sandbox: loadSandbox(),
    bunPath: BUN,
    bunVersion: () => bunVersion(BUN),
    files: packageFiles(),
  });
  try {
    const tool = resolveTool({ toolPath: TRIVIAL_TOOL }, options);
    const wait = { signal: new AbortController().signal, timeoutMs: 120_000 };
    const built = await bundler.build(tool, wait);
    const bytecode =
      built.manifest.bundle.bytecode === undefined ? undefined : `${built.bundlePath}.jsc`;
    return {
      bundle: built.bundlePath,
      bytecode,
      entry: mode === 'bwrap' ? TRIVIAL_TOOL : built.bundlePath,
    };
  } finally {
    await bundler.close();
  }
}

// From the hand-written command to a toolcage call, one thing added per step.
function ladder(
  mode: 'bwrap' | 'none',
  sandbox: Sandbox,
  launcher: LauncherClass,
  runtime: Parameters<typeof trivial>[0],
  carrier: CarrierBundle,
): Step[] {
  const handwritten: BareCommand =
    mode === 'bwrap'
      ? {
          file: bwrapPath,
          args: [
            ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'],
            ...['--unshare-all', '--die-with-parent', '--new-session', BUN, HANDWRITTEN],
          ],
          env: {},
          cwd: tmpdir(),
        }
      : { file: BUN, args: [HANDWRITTEN], env: {}, cwd: tmpdir() };
  const launch = (bunArgs: string[], runtimeFiles: string[], env = {}): LaunchRequest => ({
    launchId: `bench-${Math.random().toString(36).slice(2)}`,
    bunPath: BUN,
    bunArgs,
    toolPath: TRIVIAL_TOOL,
    runtimeFiles: [BUN, ...runtimeFiles],
    env,
    permissions: { read: [], write: [], net: false, env: [], run: false },
    limits: DEFAULT_LIMITS,
    mode: mode satisfies SandboxMode,
  });
  const workerLaunch = (): LaunchRequest =>
    launch([...BUN_FLAGS, DIST_WORKER], [DIST_WORKER, BUNFIG, DIST_WORKER_DIR], WORKER_ENV);
  // As a call runs a bundled tool: Bun runs the bundle, the worker's slow paths beside it.
  const carrierLaunch = (): LaunchRequest => ({
    ...launch([...BUN_FLAGS, carrier.entry], [BUNFIG, DIST_WORKER_DIR], WORKER_ENV),
    toolPath: carrier.entry,
    view: {
      kind: 'bundle',
      file: carrier.entry,
      source: carrier.bundle,
      ...(carrier.bytecode === undefined ? {} : { bytecode: carrier.bytecode }),
    },
  });
  const carrierRequest = workerRequest(carrier.entry);
  const sandboxName = mode === 'bwrap' ? "toolcage's bwrap" : "toolcage's environment";
  return [
    {
      name:
        mode === 'bwrap'
          ? 'hand-written: `bwrap --ro-bind / / … --unshare-all … bun file.ts`, stdin → stdout'
          : 'hand-written: `bun file.ts`, stdin → stdout',
      run: () => timed(() => runHandwritten(handwritten, INPUT)),
    },
    {
      name: `the same file under ${sandboxName} (its plan without the prologue)`,
      run: () =>
        bareRun(sandbox, launch([HANDWRITTEN], [HANDWRITTEN]), (command) =>
          runHandwritten(command, INPUT),
        ),
    },
    {
      name: "+ Bun's flags and variables as toolcage passes them",
      run: () =>
        bareRun(
          sandbox,
          launch([...BUN_FLAGS, HANDWRITTEN], [HANDWRITTEN, BUNFIG], WORKER_ENV),
          (command) => runHandwritten(command, INPUT),
        ),
    },
    {
      name: '+ the protocol: request line, the tool imported from its file, result on fd 3',
      run: () =>
        bareRun(
          sandbox,
          launch([...BUN_FLAGS, BARE_SCRIPT], [BARE_SCRIPT, BUNFIG], WORKER_ENV),
          (command) => runBare(command, BARE_REQUEST),
        ),
    },
    {
      name: "+ toolcage's worker entry (dist/runtime/worker/main.js, as for `bundle: false`) instead of the bare script",
      run: () => bareRun(sandbox, workerLaunch(), (command) => runBare(command, WORKER_REQUEST)),
    },
    {
      name: "+ the tool's bundle as toolcage builds it, the worker inside, run by Bun in its place",
      run: () => bareRun(sandbox, carrierLaunch(), (command) => runBare(command, carrierRequest)),
    },
    {
      name: "+ the confinement (cgroups, rlimits) by the fallback's prologue, spawned by Node",
      run: () => planRun(sandbox, carrierLaunch(), undefined, carrierRequest),
    },
    {
      name: '+ the launcher applying the confinement itself, as every call does',
      run: () => planRun(sandbox, carrierLaunch(), launcher, carrierRequest),
    },
    {
      name: '= a toolcage call (validation, plan, queue, deadline, result, classification)',
      run: () => timed(() => trivial(runtime)),
    },
  ];
}

let bwrapPath = 'bwrap';
async function bwrapUsable(sandbox: Sandbox): Promise<boolean> {
  const caps = await detectCapabilities();
  if (!caps.bwrap.works || caps.bwrap.path === undefined) return false;
  bwrapPath = caps.bwrap.path;
  const probe = await sandbox
    .prepare({
      launchId: 'bench-probe',
      bunPath: BUN,
      bunArgs: [],
      toolPath: TRIVIAL_TOOL,
      runtimeFiles: [BUN],
      env: {},
      permissions: { read: [], write: [], net: false, env: [], run: false },
      limits: DEFAULT_LIMITS,
      mode: 'auto',
    })
    .catch(() => undefined);
  await probe?.dispose();
  return probe !== undefined && isBwrap(probe);
}

// Time spent in sandbox.prepare() for the worker's plans of the prologue steps (outside their
// timing): the part of the call's own plan the ladder's last step adds back.
let prepareSamples: number[] = [];

// A plan prepared and materialised outside the timing, its command run without the prologue.
async function bareRun(
  sandbox: Sandbox,
  request: LaunchRequest,
  run: (command: BareCommand) => Promise<void>,
): Promise<number> {
  const plan = await sandbox.prepare(request);
  try {
    plan.materialize();
    const command = withoutPrologue(plan);
    try {
      return await timed(() => run(command));
    } finally {
      for (const fd of command.extraFds) closeSync(fd);
    }
  } finally {
    await plan.dispose();
  }
}

// The whole plan through toolcage's own spawnPlan: by the launcher, or without one by the
// fallback's prologue.
async function planRun(
  sandbox: Sandbox,
  request: LaunchRequest,
  launcher: LauncherClass | undefined,
  requestLine: string,
): Promise<number> {
  const plan = await timedPrepare(sandbox, request);
  try {
    return await timed(async () => drive(await spawnPlan(plan, launcher), requestLine));
  } finally {
    await plan.dispose();
  }
}

async function timedPrepare(sandbox: Sandbox, request: LaunchRequest): Promise<LaunchPlan> {
  const started = performance.now();
  const plan = await sandbox.prepare(request);
  prepareSamples.push(performance.now() - started);
  return plan;
}

// The request in, the result read from fd 3, logs drained; done when every stream has closed.
async function drive(child: SpawnedProcess, requestLine: string): Promise<void> {
  const chunks: Buffer[] = [];
  child.result.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stdout.resume();
  child.stderr.resume();
  child.stdin.write(requestLine);
  await child.closed;
  const text = Buffer.concat(chunks).toString('utf8');
  if (child.spawnError() !== undefined || !text.startsWith('{"type":"result"')) {
    throw new Error(`bench: the plan's run failed: ${text.slice(0, 200) || '(no result)'}`);
  }
}

// Every step once per round, in an order that rotates, RUNS rounds after WARMUP.
async function measure(
  steps: readonly Step[],
): Promise<{ medians: { name: string; ms: number }[]; prepareMs: number }> {
  const samples = steps.map(() => [] as number[]);
  prepareSamples = [];
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (let k = 0; k < steps.length; k++) {
      const index = (round + k) % steps.length;
      const value = await steps[index]!.run();
      if (round >= WARMUP) samples[index]!.push(value);
    }
  }
  return {
    medians: steps.map((step, index) => ({ name: step.name, ms: median(samples[index]!) })),
    prepareMs: median(prepareSamples),
  };
}

// The ladder as Markdown: each step's median and what it adds to the one before.
function breakdown(
  mode: 'bwrap' | 'none',
  medians: readonly { name: string; ms: number }[],
  prepareMs: number,
): string {
  const base = medians[0]!.ms;
  const lines = medians.map((step, index) => {
    const added = index === 0 ? '' : signed(step.ms - medians[index - 1]!.ms);
    return `| ${step.name.replaceAll('|', '\\|')} | ${ms(step.ms)} | ${added} | ${(step.ms / base).toFixed(3)}× |`;
  });
  return [
    `### ${mode === 'bwrap' ? 'Sandboxed' : 'Unsandboxed (`sandbox: none`)'}: from the hand-written baseline to a toolcage call`,
    '',
    '| step | median | added | vs hand-written |',
    '|---|---|---|---|',
    ...lines,
    '',
    `The call's plan (\`sandbox.prepare()\`, outside the timing of the steps before the last) takes ${ms(prepareMs)} of the last step.`,
    '',
  ].join('\n');
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)} ms`;
}

function notMeasured(figure: string, max: number): Row {
  return {
    figure,
    measured: 'not measured: bubblewrap is not usable here',
    baseline: '–',
    value: '–',
    target: `≤ ${max.toFixed(2)}×`,
    pass: undefined,
  };
}
