/**
 * The prewarmed throughput of bench/cases/throughput.ts, in a small Node process of its own
 * (bench/node-script.ts: the bare baseline is spawned by Node, whose cost grows with the size of
 * the process that spawns it). At each concurrency, a sandboxed runtime with `prewarm` equal to
 * its `concurrency` runs the trivial tool by path `calls` times, all submitted at once (its
 * queue bounds the concurrency), and bare `bun file.ts` runs `calls` times, at most
 * `concurrency` at once. The two alternate in rounds, the order switching every round; each
 * round starts once the pool holds `concurrency` idle processes, so that its refill after a
 * toolcage round lands on no bare round. Prints one JSON line, rates in executions per second:
 * `{ levels: [{ concurrency, toolcage: [rate…], bare: [rate…] }] }`.
 *
 *   node <file> <package root> <concurrencies, comma-separated> <calls> <rounds>
 */
import { fromDist } from './from-dist.js';
import { bounded, rate } from './stats.js';
import { INPUT, runFile, writeSumFiles, type SumFiles } from './sum-tool.js';
import type * as Toolcage from '../src/index.js';
import type { resolveBunBinary as ResolveBunBinary } from '../src/runtime/bun-binary.js';

const [root = '.', levelsArg = '2,8', callsArg = '200', roundsArg = '6'] = process.argv.slice(2);
const LEVELS = levelsArg.split(',').map(Number);
const CALLS = Number(callsArg);
const ROUNDS = Number(roundsArg);
const WARMUP_CALLS = 40;

const { createToolRuntime } = await fromDist<typeof Toolcage>(root, 'index.js');
const { resolveBunBinary } = await fromDist<{ resolveBunBinary: typeof ResolveBunBinary }>(
  root,
  'runtime/bun-binary.js',
);
const BUN = resolveBunBinary();

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
  readonly bare: number[];
}

async function measure(files: SumFiles, concurrency: number): Promise<Level> {
  const runtime = createToolRuntime({
    sandbox: 'bwrap',
    rootDir: files.dir,
    concurrency,
    prewarm: concurrency,
  });
  const call = async (): Promise<void> => {
    const result = await runtime.executeToolWithTimeout<{ sum: number }>({
      toolPath: files.tool,
      input: INPUT,
    });
    if (result.output.sum !== 3) throw new Error('the tool returned a wrong sum');
    if (result.enforcement.sandbox !== 'bwrap') throw new Error('the call ran unsandboxed');
  };
  const variants = {
    toolcage: async (calls: number): Promise<number> => {
      await untilIdle(runtime, concurrency);
      return rate(calls, () => Promise.all(Array.from({ length: calls }, call)));
    },
    bare: async (calls: number): Promise<number> => {
      await untilIdle(runtime, concurrency);
      return rate(calls, () => bounded(calls, concurrency, () => runFile(BUN, [files.file])));
    },
  };
  try {
    // An ad-hoc tool's profile is prewarmed once it has been called (the first call is cold).
    await call();
    await variants.toolcage(WARMUP_CALLS);
    await variants.bare(WARMUP_CALLS);
    const level: Level = { concurrency, toolcage: [], bare: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (['toolcage', 'bare'] as const) : (['bare', 'toolcage'] as const);
      for (const name of order) level[name].push(await variants[name](CALLS));
    }
    return level;
  } finally {
    await runtime.close();
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
