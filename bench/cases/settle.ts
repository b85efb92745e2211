/**
 * What a prewarmed sandboxed call waits for, one milestone at a time. The runtime's own parts
 * (dist's sandbox, launcher and spawnPlan) start a process as the pool does — the trivial tool's
 * bundle, carrying the worker, under the call's plan — and leave it 40 ms to boot; then the
 * request goes in, and the time of each milestone after it is recorded: the result's first
 * bytes on fd 3, fd 3's end, the launcher's report of the exit, stdout's and stderr's ends,
 * every stream closed; then the plan's disposal until its cgroups and temp dir are gone, and the
 * next process's start (the pool's refill: plan, cgroups, launcher's reply). In the same rounds,
 * a prewarmed call through the public API (`prewarm: 2`, a pause before and after it).
 *
 * Run it alone with `BENCH_ONLY=settle npm run bench` (`SETTLE_ROUNDS=N` for more rounds).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import type { LaunchRequest, Sandbox } from '../../src/sandbox/types.js';
import type { SpawnedProcess } from '../../src/runtime/spawn.js';
import { loadSandbox } from '../sandbox-plan.js';
import { BUN, BUNFIG, FIXTURES, ms, TRIVIAL_TOOL, until, type CaseResult } from '../setup.js';
import { median, quantile, timed } from '../stats.js';
import {
  createToolRuntime,
  DIST_LAUNCHER,
  DIST_WORKER_DIR,
  Launcher,
  spawnPlan,
} from '../toolcage.js';
import {
  BUN_FLAGS,
  carrierBundle,
  WORKER_ENV,
  workerRequest,
  type CarrierBundle,
} from './handwritten.js';

const ROUNDS = Number(process.env['SETTLE_ROUNDS'] ?? 40);
const WARMUP = 3;
const BOOT_MS = 40;

type Milestone =
  | 'result: first bytes on fd 3'
  | 'result: end of fd 3'
  | "exit: the launcher's report"
  | 'stdout: end'
  | 'stderr: end'
  | 'every stream closed';

/** The breakdown as a section of RESULTS.md (no rows: it has no target). */
export async function settleRows(): Promise<CaseResult> {
  const sandbox = loadSandbox();
  const launcher = new Launcher(BUN, DIST_LAUNCHER);
  const cacheDir = mkdtempSync(join(tmpdir(), 'toolcage-bench-cache-'));
  // A root manager builds as the sandbox user (nobody), which must write there.
  chmodSync(cacheDir, 0o777);
  const runtime = createToolRuntime({ sandbox: 'bwrap', rootDir: FIXTURES, prewarm: 2 });
  const samples = new Map<string, number[]>();
  const add = (name: string, value: number): void => {
    samples.set(name, [...(samples.get(name) ?? []), value]);
  };
  try {
    if (!(await launcher.whenReady())) throw new Error('bench: the launcher does not start');
    const carrier = await carrierBundle('bwrap', cacheDir);
    let warmed = false;
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      const keep = round >= WARMUP;
      const parts = async (): Promise<void> => {
        const seen = await oneProcess(sandbox, launcher, carrier);
        if (keep) for (const [name, value] of seen) add(name, value);
      };
      const call = async (): Promise<void> => {
        if (warmed) await until(() => runtime.stats.idleProcesses >= 1);
        await pause(BOOT_MS);
        const took = await timed(() =>
          runtime.executeToolWithTimeout({ toolPath: TRIVIAL_TOOL, input: { n: 1 } }),
        );
        warmed = true;
        await pause(BOOT_MS);
        if (keep) add('a prewarmed call through the public API, settled', took);
      };
      if (round % 2 === 0) {
        await parts();
        await call();
      } else {
        await call();
        await parts();
      }
    }
  } finally {
    await runtime.close();
    await launcher.close();
    await sandbox.settled();
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return { rows: [], section: section(samples) };
}

function pause(msToWait: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}

// The pool's launch of the trivial tool's bundle (pool.ts #start, with the carrier in the
// worker's place).
function carrierLaunch(carrier: CarrierBundle): LaunchRequest {
  return {
    launchId: `bench-${Math.random().toString(36).slice(2)}`,
    bunPath: BUN,
    bunArgs: [...BUN_FLAGS, carrier.entry],
    toolPath: carrier.entry,
    runtimeFiles: [BUN, BUNFIG, DIST_WORKER_DIR],
    env: WORKER_ENV,
    permissions: { read: [], write: [], net: false, env: [], run: false },
    limits: DEFAULT_LIMITS,
    mode: 'bwrap',
    view: {
      kind: 'bundle',
      file: carrier.entry,
      source: carrier.bundle,
      ...(carrier.bytecode === undefined ? {} : { bytecode: carrier.bytecode }),
    },
  };
}

// One process as the pool starts it, then one request through it, every milestone timed.
async function oneProcess(
  sandbox: Sandbox,
  launcher: InstanceType<typeof Launcher>,
  carrier: CarrierBundle,
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const started = performance.now();
  const plan = await sandbox.prepare(carrierLaunch(carrier));
  const child = await spawnPlan(plan, launcher);
  seen.set("refill: plan, cgroups, the launcher's reply", performance.now() - started);
  await pause(BOOT_MS);
  const t0 = performance.now();
  const at = (name: Milestone) => (): void => {
    if (!seen.has(name)) seen.set(name, performance.now() - t0);
  };
  const chunks: Buffer[] = [];
  child.result.on('data', (chunk: Buffer) => {
    at('result: first bytes on fd 3')();
    chunks.push(chunk);
  });
  child.result.once('end', at('result: end of fd 3'));
  child.stdout.once('end', at('stdout: end')).resume();
  child.stderr.once('end', at('stderr: end')).resume();
  void child.exited.then(at("exit: the launcher's report"));
  child.stdin.write(workerRequest(carrier.entry));
  await child.closed;
  at('every stream closed')();
  check(child, chunks);
  const disposing = performance.now();
  await plan.dispose();
  await sandbox.settled();
  seen.set('after: cgroups and temp dir removed (from dispose)', performance.now() - disposing);
  return seen;
}

function check(child: SpawnedProcess, chunks: Buffer[]): void {
  const text = Buffer.concat(chunks).toString('utf8');
  if (child.spawnError() !== undefined || !text.startsWith('{"type":"result"')) {
    throw new Error(`bench: the process failed: ${text.slice(0, 200) || '(no result)'}`);
  }
}

function section(samples: ReadonlyMap<string, number[]>): string {
  const lines = [...samples].map(
    ([name, values]) =>
      `| ${name} | ${ms(median(values))} | ${ms(quantile(values, 0.25))} – ${ms(quantile(values, 0.75))} |`,
  );
  return [
    `### What a prewarmed sandboxed call waits for (${ROUNDS} rounds)`,
    '',
    'Times after the request was written (the refill and the removal: their own duration).',
    '',
    '| milestone | median | p25 – p75 |',
    '|---|---|---|',
    ...lines,
    '',
  ].join('\n');
}
