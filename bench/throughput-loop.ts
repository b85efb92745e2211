/**
 * The prewarmed throughput of bench/cases/throughput.ts, in a small Node process of its own
 * (bench/node-script.ts: the bare baseline is spawned by Node, whose cost grows with the size of
 * the process that spawns it). At each concurrency, four variants run the trivial tool `calls`
 * times, at most `concurrency` at once:
 * - `toolcage`: a sandboxed runtime with `prewarm` equal to its `concurrency`, by path, all
 *   submitted at once (its queue bounds the concurrency);
 * - `none`: the same with `sandbox: 'none'`;
 * - `bare`: `bun file.ts`;
 * - `bwrap`: the hand-written `bwrap --ro-bind / / … --unshare-all … bun file.ts` as the sandbox
 *   user, the public-API loop's baseline: what one sandbox per call costs by itself (absent
 *   where bubblewrap does not work);
 * - `least`: `bwrap --ro-bind / / --unshare-user … bun file.ts` as the sandbox user, a user and a
 *   mount namespace only: the floor of any sandbox per call (absent with `bwrap`).
 * They alternate in rounds, the order turning every round; each round starts once both pools hold
 * `concurrency` idle processes, so that a refill lands on no other round. Prints one JSON line,
 * rates in executions per second:
 * `{ levels: [{ concurrency, toolcage: [rate…], none: […], bare: […], bwrap: […], least: […] }] }`.
 *
 *   node <file> <package root> <concurrencies, comma-separated> <calls> <rounds>
 */
import { fromDist } from './from-dist.js';
import { bounded, rate } from './stats.js';
import {
  baselines,
  handWrittenBwrapArgs,
  INPUT,
  leastBwrapArgs,
  runFile,
  writeSumFiles,
  type SumFiles,
} from './sum-tool.js';
import type * as Toolcage from '../src/index.js';

const [root = '.', levelsArg = '2,8', callsArg = '200', roundsArg = '6'] = process.argv.slice(2);
const LEVELS = levelsArg.split(',').map(Number);
const CALLS = Number(callsArg);
const ROUNDS = Number(roundsArg);
const WARMUP_CALLS = 40;

const { createToolRuntime } = await fromDist<typeof Toolcage>(root, 'index.js');
const { bun: BUN, bwrap: BWRAP, user } = await baselines(root);

async function untilIdle(runtime: Toolcage.ToolRuntime, processes: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (runtime.stats.idleProcesses < processes) {
    if (performance.now() > deadline)
      throw new Error(`the pool did not refill to ${processes} idle processes within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

interface Level {
  readonly concurrency: number;
  readonly toolcage: number[];
  readonly none: number[];
  readonly bare: number[];
  readonly bwrap: number[];
  readonly least: number[];
}

type VariantName = 'toolcage' | 'none' | 'bare' | 'bwrap' | 'least';

async function measure(files: SumFiles, concurrency: number): Promise<Level> {
  const sandboxed = createToolRuntime({
    sandbox: 'bwrap',
    rootDir: files.dir,
    concurrency,
    prewarm: concurrency,
  });
  const unsandboxed = createToolRuntime({
    sandbox: 'none',
    rootDir: files.dir,
    concurrency,
    prewarm: concurrency,
  });
  const call = async (runtime: Toolcage.ToolRuntime, sandbox: string): Promise<void> => {
    const result = await runtime.executeToolWithTimeout<{ sum: number }>({
      toolPath: files.tool,
      input: INPUT,
    });
    if (result.output.sum !== 3) throw new Error('the tool returned a wrong sum');
    if (result.enforcement.sandbox !== sandbox)
      throw new Error(`the call ran with sandbox ${result.enforcement.sandbox}, not ${sandbox}`);
  };
  const untilBothIdle = async (): Promise<void> => {
    await untilIdle(sandboxed, concurrency);
    await untilIdle(unsandboxed, concurrency);
  };
  // Every call submitted at once: the runtime's queue bounds the concurrency.
  const prewarmed =
    (runtime: Toolcage.ToolRuntime, sandbox: string) =>
    async (calls: number): Promise<number> => {
      await untilBothIdle();
      return rate(calls, () =>
        Promise.all(Array.from({ length: calls }, () => call(runtime, sandbox))),
      );
    };
  const handWritten = handWrittenBwrapArgs(BUN, files.file);
  const least = leastBwrapArgs(BUN, files.file);
  const asUser = user.switched ? { uid: user.uid, gid: user.gid } : undefined;
  const bwrapRun =
    (bwrap: string, args: readonly string[]) =>
    async (calls: number): Promise<number> => {
      await untilBothIdle();
      return rate(calls, () => bounded(calls, concurrency, () => runFile(bwrap, args, asUser)));
    };
  const variants: Partial<Record<VariantName, (calls: number) => Promise<number>>> = {
    toolcage: prewarmed(sandboxed, 'bwrap'),
    none: prewarmed(unsandboxed, 'none'),
    bare: async (calls) => {
      await untilBothIdle();
      return rate(calls, () => bounded(calls, concurrency, () => runFile(BUN, [files.file])));
    },
    ...(BWRAP === undefined
      ? {}
      : { bwrap: bwrapRun(BWRAP, handWritten), least: bwrapRun(BWRAP, least) }),
  };
  const names = Object.keys(variants) as VariantName[];
  try {
    // An ad-hoc tool's profile is prewarmed once it has been called (the first call is cold).
    await call(sandboxed, 'bwrap');
    await call(unsandboxed, 'none');
    for (const name of names) await variants[name]!(WARMUP_CALLS);
    const level: Level = { concurrency, toolcage: [], none: [], bare: [], bwrap: [], least: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) level[name].push(await variants[name]!(CALLS));
    }
    return level;
  } finally {
    await Promise.all([sandboxed.close(), unsandboxed.close()]);
  }
}

const files = writeSumFiles();
const levels: Level[] = [];
try {
  for (const concurrency of LEVELS) levels.push(await measure(files, concurrency));
} finally {
  files.remove();
}
console.log(JSON.stringify({ levels }));
