/**
 * toolcage as an independent user would measure it, through its public API only: three runtimes
 * alive at once — `sandbox: 'none'`, sandboxed cold, sandboxed with `prewarm: 2` — each calling
 * a trivial tool by path, in the same rounds as a bare `bun file.ts` and a hand-written
 * `bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent --new-session bun
 * file.ts` (as the manager's user, and as the sandbox's user when they differ: a root manager's
 * sandboxes run as `nobody`). Every round runs every variant once, in a rotating order; the
 * prewarmed call has a pause before and after it, so that its pool's refill lands on no other
 * measurement (and its process has booted).
 *
 * Run it alone with `BENCH_ONLY=publicapi npm run bench` (`PUBLICAPI_ROUNDS=N` for more rounds).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCapabilities } from '../../src/sandbox/detect.js';
import { resolveSandboxIdentity } from '../../src/sandbox/identity.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { BUN, ms, until, type CaseResult, type Row } from '../setup.js';
import { median, quantile, timed } from '../stats.js';
import { createToolRuntime } from '../toolcage.js';

const ROUNDS = Number(process.env['PUBLICAPI_ROUNDS'] ?? 40);
const WARMUP = 3;
const PAUSE_MS = 40;

const TOOL = 'export default (i: { a: number; b: number }) => ({ sum: i.a + i.b });\n';
const FILE = [
  'const i = JSON.parse(await Bun.stdin.text());',
  'console.log(JSON.stringify({ sum: i.a + i.b }));',
  '',
].join('\n');
const INPUT = { a: 1, b: 2 };

/** One variant of a round: a name and one timed run (pauses, if any, outside the timing). */
interface Variant {
  readonly name: string;
  readonly run: () => Promise<number>;
}

/** The three ratios of the issue "Calls at the floor", and every variant's median as a section. */
export async function publicApiRows(): Promise<CaseResult> {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-bench-public-'));
  // The sandbox user (nobody, for a root manager) reads the tool and the file.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'sum.ts'), TOOL, { mode: 0o644 });
  writeFileSync(join(dir, 'file.ts'), FILE, { mode: 0o644 });
  const caps = await detectCapabilities();
  const bwrap = caps.bwrap.works ? caps.bwrap.path : undefined;
  const none = createToolRuntime({ sandbox: 'none', rootDir: dir });
  const cold = createToolRuntime({ sandbox: 'bwrap', rootDir: dir });
  const warm = createToolRuntime({ sandbox: 'bwrap', rootDir: dir, prewarm: 2 });
  try {
    const variants = bwrap === undefined ? [] : sandboxedVariants(bwrap, dir, cold, warm);
    const all: Variant[] = [
      { name: 'bare `bun file.ts`', run: () => timed(() => handwritten(BUN, [file(dir)])) },
      { name: "toolcage, `sandbox: 'none'`", run: () => timed(() => call(none, dir)) },
      ...variants,
    ];
    const samples = await measure(all);
    return { rows: rows(all, samples, bwrap !== undefined), section: section(all, samples) };
  } finally {
    await Promise.all([none.close(), cold.close(), warm.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function sandboxedVariants(
  bwrap: string,
  dir: string,
  cold: ToolRuntime,
  warm: ToolRuntime,
): Variant[] {
  const args = [
    ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'],
    ...['--unshare-all', '--die-with-parent', '--new-session', BUN, file(dir)],
  ];
  const user = resolveSandboxIdentity(undefined);
  // An ad-hoc tool's profile is warmed once it has been called (the first call starts cold).
  let warmed = false;
  const setpriv = ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups'];
  return [
    {
      name: 'hand-written `bwrap … bun file.ts` (as the manager)',
      run: () => timed(() => handwritten(bwrap, args)),
    },
    ...(user.switched
      ? [
          {
            name: `hand-written \`bwrap … bun file.ts\` as ${user.name} (\`setpriv\`)`,
            run: () => timed(() => handwritten('setpriv', [...setpriv, '--', bwrap, ...args])),
          },
        ]
      : []),
    { name: 'toolcage, sandboxed, cold', run: () => timed(() => call(cold, dir)) },
    {
      name: 'toolcage, sandboxed, `prewarm: 2`',
      run: async () => {
        if (warmed) await until(() => warm.stats.idleProcesses >= 1);
        await pause();
        const took = await timed(() => call(warm, dir));
        warmed = true;
        await pause();
        return took;
      },
    },
  ];
}

function file(dir: string): string {
  return join(dir, 'file.ts');
}

function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
}

async function call(runtime: ToolRuntime, dir: string): Promise<void> {
  const result = await runtime.executeToolWithTimeout<{ sum: number }>({
    toolPath: join(dir, 'sum.ts'),
    input: INPUT,
  });
  if (result.output.sum !== 3) throw new Error('bench: the tool returned a wrong sum');
}

// One run of the hand-written file: the input on stdin, the sum read from stdout.
function handwritten(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env: {}, cwd: tmpdir() });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + String(chunk)).slice(-500)));
    child.stdin.on('error', () => {});
    child.once('error', reject);
    child.once('close', (code) => {
      if (out.startsWith('{"sum":3}')) resolve();
      else reject(new Error(`bench: the hand-written file failed (exit ${code}): ${out}${err}`));
    });
    child.stdin.end(JSON.stringify(INPUT));
  });
}

// Every variant once per round, the order rotating, ROUNDS rounds after WARMUP.
async function measure(variants: readonly Variant[]): Promise<number[][]> {
  const samples = variants.map(() => [] as number[]);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const index = (round + k) % variants.length;
      const took = await variants[index]!.run();
      if (round >= WARMUP) samples[index]!.push(took);
    }
  }
  return samples;
}

function rows(variants: readonly Variant[], samples: number[][], sandboxed: boolean): Row[] {
  const at = (prefix: string): number => {
    const index = variants.findIndex((variant) => variant.name.startsWith(prefix));
    return index === -1 ? Number.NaN : median(samples[index]!);
  };
  const ratio = (figure: string, a: number, b: number, max: number, base: string): Row => ({
    figure,
    measured: ms(a),
    baseline: `${ms(b)} (${base})`,
    value: `${(a / b).toFixed(3)}×`,
    target: `≤ ${max.toFixed(2)}×`,
    pass: Number.isNaN(a / b) ? undefined : a / b <= max,
  });
  const out = [
    ratio(
      "public API: `sandbox: 'none'` vs bare `bun file.ts`",
      at('toolcage, `sandbox'),
      at('bare'),
      1.05,
      'bare bun',
    ),
  ];
  if (!sandboxed) return out;
  const asUser = at('hand-written `bwrap … bun file.ts` as');
  out.push(
    ratio(
      'public API: sandboxed (cold) vs hand-written `bwrap … bun file.ts`',
      at('toolcage, sandboxed, cold'),
      Number.isNaN(asUser) ? at('hand-written') : asUser,
      1.15,
      Number.isNaN(asUser) ? 'as the manager' : 'as the sandbox user',
    ),
  );
  if (!Number.isNaN(asUser)) {
    out.push({
      ...ratio(
        'public API: sandboxed (cold) vs hand-written bwrap as root',
        at('toolcage, sandboxed, cold'),
        at('hand-written'),
        1.15,
        'as root',
      ),
      target: '(report)',
      pass: undefined,
    });
  }
  out.push(
    ratio(
      'public API: sandboxed `prewarm: 2` vs sandboxed cold',
      at('toolcage, sandboxed, `prewarm'),
      at('toolcage, sandboxed, cold'),
      0.2,
      'cold',
    ),
  );
  return out;
}

function section(variants: readonly Variant[], samples: number[][]): string {
  const lines = variants.map((variant, index) => {
    const values = samples[index]!;
    return `| ${variant.name.replaceAll('|', '\\|')} | ${ms(median(values))} | ${ms(quantile(values, 0.25))} – ${ms(quantile(values, 0.75))} |`;
  });
  return [
    `### Public API loop (${ROUNDS} rounds, every variant once per round, rotating)`,
    '',
    '| variant | median | p25 – p75 |',
    '|---|---|---|',
    ...lines,
    '',
  ].join('\n');
}
