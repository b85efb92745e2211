/**
 * The loop of bench/cases/public-api.ts, as an independent user runs it: its own small Node
 * process (not the bench's: a hand-written baseline spawned by Node forks the whole process, so
 * its cost grows with the process's size), only the built package's public API. The case
 * transpiles this file and runs it with `node <file> <package root> <rounds> <ballast MB>`; it
 * prints one JSON line, `{ rssMb, variants: [{ name, samples }] }`. With a ballast, the process
 * first holds that many MB (touched Buffers), as an engine that embeds toolcage would.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { resolveBunBinary as ResolveBunBinary } from '../src/runtime/bun-binary.js';
import type {
  createToolRuntime as CreateToolRuntime,
  ToolRuntime,
} from '../src/runtime/runtime.js';
import type { detectCapabilities as DetectCapabilities } from '../src/sandbox/detect.js';
import type { resolveSandboxIdentity as ResolveSandboxIdentity } from '../src/sandbox/identity.js';

const [root = '.', roundsArg = '40', ballastArg = '0'] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const WARMUP = 3;
const PAUSE_MS = 40;
const INPUT = { a: 1, b: 2 };

const ballast: Buffer[] = [];
for (let mb = 0; mb < Number(ballastArg); mb++) ballast.push(Buffer.alloc(1 << 20, 1));

async function fromDist<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(join(root, 'dist', path)).href)) as T;
}
const { createToolRuntime } = await fromDist<{ createToolRuntime: typeof CreateToolRuntime }>(
  'runtime/runtime.js',
);
const { resolveBunBinary } = await fromDist<{ resolveBunBinary: typeof ResolveBunBinary }>(
  'runtime/bun-binary.js',
);
const { detectCapabilities } = await fromDist<{ detectCapabilities: typeof DetectCapabilities }>(
  'sandbox/detect.js',
);
const { resolveSandboxIdentity } = await fromDist<{
  resolveSandboxIdentity: typeof ResolveSandboxIdentity;
}>('sandbox/identity.js');

const BUN = resolveBunBinary();
const dir = mkdtempSync(join(tmpdir(), 'toolcage-bench-public-'));
// The sandbox user (nobody, for a root manager) reads the tool and the file.
chmodSync(dir, 0o755);
writeFileSync(
  join(dir, 'sum.ts'),
  'export default (i: { a: number; b: number }) => ({ sum: i.a + i.b });\n',
  { mode: 0o644 },
);
const FILE = join(dir, 'file.ts');
writeFileSync(
  FILE,
  'const i = JSON.parse(await Bun.stdin.text());\nconsole.log(JSON.stringify({ sum: i.a + i.b }));\n',
  { mode: 0o644 },
);

interface Variant {
  readonly name: string;
  readonly run: () => Promise<number>;
}

// One run of the hand-written file: the input on stdin, the sum read from stdout.
function handwritten(
  command: string,
  args: readonly string[],
  user?: { uid: number; gid: number },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, [...args], { env: {}, cwd: tmpdir(), ...user });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + String(chunk)).slice(-500)));
    child.stdin.on('error', () => {});
    child.once('error', reject);
    child.once('close', (code) => {
      if (out.startsWith('{"sum":3}')) resolve(performance.now() - started);
      else reject(new Error(`the hand-written file failed (exit ${code}): ${out}${err}`));
    });
    child.stdin.end(JSON.stringify(INPUT));
  });
}

async function call(runtime: ToolRuntime): Promise<number> {
  const started = performance.now();
  const result = await runtime.executeToolWithTimeout<{ sum: number }>({
    toolPath: join(dir, 'sum.ts'),
    input: INPUT,
  });
  if (result.output.sum !== 3) throw new Error('the tool returned a wrong sum');
  return performance.now() - started;
}

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));

const caps = await detectCapabilities();
const bwrap = caps.bwrap.works ? caps.bwrap.path : undefined;
const none = createToolRuntime({ sandbox: 'none', rootDir: dir });
const cold = createToolRuntime({ sandbox: 'bwrap', rootDir: dir });
const warm = createToolRuntime({ sandbox: 'bwrap', rootDir: dir, prewarm: 2 });
let warmed = false;

function sandboxed(bwrapPath: string): Variant[] {
  const args = [
    ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'],
    ...['--unshare-all', '--die-with-parent', '--new-session', BUN, FILE],
  ];
  const user = resolveSandboxIdentity(undefined);
  const ids = { uid: user.uid, gid: user.gid };
  const setpriv = ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups'];
  const asUser: Variant[] = [
    {
      name: `hand-written \`bwrap … bun file.ts\` as ${user.name} (Node's spawn with uid/gid)`,
      run: () => handwritten(bwrapPath, args, ids),
    },
    {
      name: `hand-written \`bwrap … bun file.ts\` as ${user.name} (through \`setpriv\`)`,
      run: () => handwritten('setpriv', [...setpriv, '--', bwrapPath, ...args]),
    },
  ];
  return [
    {
      name: 'hand-written `bwrap … bun file.ts` as the manager',
      run: () => handwritten(bwrapPath, args),
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
  { name: 'bare `bun file.ts`', run: () => handwritten(BUN, [FILE]) },
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
  rmSync(dir, { recursive: true, force: true });
}
const rssMb = process.memoryUsage().rss / 2 ** 20;
const report = variants.map((variant, index) => ({ name: variant.name, samples: samples[index] }));
console.log(JSON.stringify({ rssMb, ballastMb: ballast.length, variants: report }));
