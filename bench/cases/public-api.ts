/**
 * toolcage as an independent user would measure it, through its public API only: three runtimes
 * alive at once — `sandbox: 'none'`, sandboxed cold, sandboxed with `prewarm: 2` — each calling
 * a trivial tool by path, in the same rounds as a bare `bun file.ts` and a hand-written
 * `bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent --new-session bun
 * file.ts` (as the manager's user, and as the sandbox's user when they differ: a root manager's
 * sandboxes run as `nobody`). Every round runs every variant once, in a rotating order; the
 * prewarmed call has a pause before and after it, so that its pool's refill lands on no other
 * measurement. The loop (bench/public-api-loop.ts) runs in a small Node process of its own, as
 * a user's script would, then again holding BALLASTS_MB: Node forks the whole process for the
 * hand-written baselines, so their cost grows with the size of the process that spawns them.
 *
 * Run it alone with `BENCH_ONLY=publicapi npm run bench` (`PUBLICAPI_ROUNDS=N` for more rounds).
 */
import { benchFile, runScriptForJson } from '../node-script.js';
import { ms, type CaseResult, type Row } from '../setup.js';
import { median, quantile } from '../stats.js';

const ROUNDS = Number(process.env['PUBLICAPI_ROUNDS'] ?? 40);
/**
 * What the other loops hold, MB: about the size of the bench's own process (vite-node, where
 * the other cases run, ≈ 140 MB), and more (an engine that embeds toolcage is a large process).
 */
const BALLASTS_MB = [70, 200];
const LOOP = benchFile('public-api-loop.ts');

interface LoopReport {
  readonly rssMb: number;
  readonly ballastMb: number;
  readonly variants: { readonly name: string; readonly samples: number[] }[];
}

/** The three ratios of the issue "Calls at the floor", and every variant's median as a section. */
export async function publicApiRows(): Promise<CaseResult> {
  const small = await runLoop(0);
  const larger: LoopReport[] = [];
  for (const ballast of BALLASTS_MB) larger.push(await runLoop(ballast));
  return { rows: rows(small), section: [small, ...larger].map(section).join('\n') };
}

// The loop in a fresh Node process (bench/node-script.ts).
function runLoop(ballastMb: number): Promise<LoopReport> {
  return runScriptForJson<LoopReport>(
    LOOP,
    [benchFile('from-dist.ts'), benchFile('sum-tool.ts')],
    [String(ROUNDS), String(ballastMb)],
  );
}

function medianOf(report: LoopReport, prefix: string): number {
  const variant = report.variants.find((each) => each.name.startsWith(prefix));
  return variant === undefined ? Number.NaN : median(variant.samples);
}

function rows(report: LoopReport): Row[] {
  const ratio = (figure: string, a: string, b: string, max: number | undefined): Row => {
    const [x, y] = [medianOf(report, a), medianOf(report, b)];
    const measured = !Number.isNaN(x / y);
    return {
      figure,
      measured: measured ? ms(x) : 'not measured',
      baseline: measured ? ms(y) : '–',
      value: measured ? `${(x / y).toFixed(3)}×` : '–',
      target: max === undefined ? '(report)' : `≤ ${max.toFixed(2)}×`,
      pass: !measured || max === undefined ? undefined : x / y <= max,
    };
  };
  const switched = report.variants.some((each) => each.name.includes("Node's spawn with uid"));
  const fair = switched ? "hand-written `bwrap … bun file.ts` as nobody (Node's" : 'hand-written';
  const cold = 'toolcage, sandboxed, cold';
  return [
    ratio(
      "public API: `sandbox: 'none'` vs bare `bun file.ts`",
      'toolcage, `sandbox',
      'bare',
      1.05,
    ),
    ratio(
      `public API: sandboxed vs hand-written \`bwrap … bun file.ts\`${switched ? ', both as the sandbox user' : ''}`,
      cold,
      fair,
      1.15,
    ),
    ...(switched
      ? [
          ratio(
            'public API: sandboxed vs hand-written `bwrap … bun file.ts` run as root',
            cold,
            'hand-written `bwrap … bun file.ts` as the manager',
            undefined,
          ),
        ]
      : []),
    ratio(
      'public API: sandboxed `prewarm: 2` vs sandboxed cold',
      'toolcage, sandboxed, `prewarm',
      cold,
      0.2,
    ),
  ];
}

function section(report: LoopReport): string {
  const lines = report.variants.map(({ name, samples }) => {
    const spread = `${ms(quantile(samples, 0.25))} – ${ms(quantile(samples, 0.75))}`;
    return `| ${name.replaceAll('|', '\\|')} | ${ms(median(samples))} | ${spread} |`;
  });
  const size =
    report.ballastMb === 0
      ? 'a small Node process'
      : `a Node process holding ${report.ballastMb} MB more`;
  return [
    `### Public API loop: ${size} (RSS ${report.rssMb.toFixed(0)} MB), ${ROUNDS} rounds`,
    '',
    '| variant | median | p25 – p75 |',
    '|---|---|---|',
    ...lines,
    '',
  ].join('\n');
}
