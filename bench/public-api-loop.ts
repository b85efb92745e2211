/**
 * The loop of bench/cases/public-api.ts, as an independent user runs it: its own small Node
 * process (not the bench's: a hand-written baseline spawned by Node forks the whole process, so
 * its cost grows with the process's size), only the built package's public API. The case
 * transpiles this file and runs it with `node <file> <package root> <rounds> <ballast MB>`; it
 * prints one JSON line, `{ rssMb, variants: [{ name, samples }] }`. With a ballast, the process
 * first holds that many MB (touched Buffers), as an engine that embeds toolcage would.
 */
import { fromDist } from './from-dist.js';
import { baselines, handWrittenBwrapArgs, INPUT, runFile, writeSumFiles } from './sum-tool.js';
import type {
  createToolRuntime as CreateToolRuntime,
  ToolRuntime,
} from '../src/runtime/runtime.js';

const [root = '.', roundsArg = '40', ballastArg = '0'] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const WARMUP = 3;
const PAUSE_MS = 40;

const ballast: Buffer[] = [];
for (let mb = 0; mb < Number(ballastArg); mb++) ballast.push(Buffer.alloc(1 << 20, 1));

const { createToolRuntime } = await fromDist<{ createToolRuntime: typeof CreateToolRuntime }>(
  root,
  'runtime/runtime.js',
);
const { bun: BUN, bwrap, user } = await baselines(root);
const files = writeSumFiles();
const dir = files.dir;
const FILE = files.file;

interface Variant {
  readonly name: string;
  readonly run: () => Promise<number>;
}

async function call(runtime: ToolRuntime): Promise<number> {
  const started = performance.now();
  const result = await runtime.executeToolWithTimeout<{ sum: number }>({
    toolPath: files.tool,
    input: INPUT,
  });
  if (result.output.sum !== 3) throw new Error('the tool returned a wrong sum');
  return performance.now() - started;
}

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));

const none = createToolRuntime({ sandbox: 'none', rootDir: dir });
const cold = createToolRuntime({ sandbox: 'bwrap', rootDir: dir });
const warm = createToolRuntime({ sandbox: 'bwrap', rootDir: dir, prewarm: 2 });
let warmed = false;

function sandboxed(bwrapPath: string): Variant[] {
  const args = handWrittenBwrapArgs(BUN, FILE);
  const ids = { uid: user.uid, gid: user.gid };
  const setpriv = ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups'];
  const asUser: Variant[] = [
    {
      name: `hand-written \`bwrap … bun file.ts\` as ${user.name} (Node's spawn with uid/gid)`,
      run: () => runFile(bwrapPath, args, ids),
    },
    {
      name: `hand-written \`bwrap … bun file.ts\` as ${user.name} (through \`setpriv\`)`,
      run: () => runFile('setpriv', [...setpriv, '--', bwrapPath, ...args]),
    },
  ];
  return [
    {
      name: 'hand-written `bwrap … bun file.ts` as the manager',
      run: () => runFile(bwrapPath, args),
    },
    ...(user.switched ? asUser : []),
    { name: 'toolcage, sandboxed, cold', run: () => call(cold) },
    {
      name: 'toolcage, sandboxed, `prewarm: 2`',
      run: async () => {
        // An ad-hoc tool's profile is warmed once it has been called (the first call is cold).
        while (warmed && warm.stats.idleProcesses < 1) await new Promise((r) => setTimeout(r, 1));
        await pause();
        const took = await call(warm);
        warmed = true;
        await pause();
        return took;
      },
    },
  ];
}

const variants: Variant[] = [
  { name: 'bare `bun file.ts`', run: () => runFile(BUN, [FILE]) },
  { name: "toolcage, `sandbox: 'none'`", run: () => call(none) },
  ...(bwrap === undefined ? [] : sandboxed(bwrap)),
];
const samples = variants.map(() => [] as number[]);
try {
  // Every variant once per round, the order rotating.
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const index = (round + k) % variants.length;
      const took = await variants[index]!.run();
      if (round >= WARMUP) samples[index]!.push(took);
    }
  }
} finally {
  await Promise.all([none.close(), cold.close(), warm.close()]);
  files.remove();
}
const rssMb = process.memoryUsage().rss / 2 ** 20;
const report = variants.map((variant, index) => ({ name: variant.name, samples: samples[index] }));
console.log(JSON.stringify({ rssMb, ballastMb: ballast.length, variants: report }));
