import { runBare } from '../bare.js';
import { benchFile, runScriptForJson } from '../node-script.js';
import { BARE_BUN, BARE_REQUEST, benchRuntime, trivial, type Row } from '../setup.js';
import { bounded, interleave, median, rate } from '../stats.js';

const LEVELS = [1, 2, 4, 8, 16] as const;
const ROUNDS = 30;
/** The prewarmed rows (issue "Calls at the floor"): concurrencies, calls per round, rounds. */
const PREWARM_LEVELS = [2, 8] as const;
const PREWARM_CALLS = 200;
const PREWARM_ROUNDS = Number(process.env['THROUGHPUT_PREWARM_ROUNDS'] ?? 6);
const PREWARM_TARGET = 1.0;

/**
 * Executions per second at each concurrency: toolcage (sandbox none) vs bare `bun` at the same,
 * then toolcage sandboxed with `prewarm` sized to the concurrency vs bare `bun file.ts`.
 */
export async function throughputRows(): Promise<Row[]> {
  return [...(await unsandboxedRows()), ...(await prewarmedRows())];
}

async function unsandboxedRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const concurrency of LEVELS) {
    const jobs = Math.max(8, 2 * concurrency);
    const runtime = benchRuntime({ concurrency });
    try {
      // Every job is submitted at once: toolcage's own queue bounds the concurrency; the bare
      // baseline gets an equally simple bounded runner.
      const { a, b } = await interleave(
        ROUNDS,
        2,
        () => rate(jobs, () => Promise.all(Array.from({ length: jobs }, () => trivial(runtime)))),
        () => rate(jobs, () => bounded(jobs, concurrency, () => runBare(BARE_BUN, BARE_REQUEST))),
      );
      const ratio = median(a) / median(b);
      const target = concurrency === 2 ? 0.9 : undefined;
      rows.push({
        figure: `throughput, concurrency ${concurrency} vs bare`,
        measured: `${median(a).toFixed(1)}/s`,
        baseline: `${median(b).toFixed(1)}/s`,
        value: `${ratio.toFixed(3)}×`,
        target: target === undefined ? '(report)' : `≥ ${target.toFixed(2)}×`,
        pass: target === undefined ? undefined : ratio >= target,
      });
    } finally {
      await runtime.close();
    }
  }
  return rows;
}

interface PrewarmReport {
  readonly levels: { concurrency: number; toolcage: number[]; bare: number[] }[];
}

// bench/throughput-loop.ts in a small Node process of its own, as a user's script would run it.
async function prewarmedRows(): Promise<Row[]> {
  const report = await runScriptForJson<PrewarmReport>(
    benchFile('throughput-loop.ts'),
    [benchFile('from-dist.ts'), benchFile('sum-tool.ts'), benchFile('stats.ts')],
    [PREWARM_LEVELS.join(','), String(PREWARM_CALLS), String(PREWARM_ROUNDS)],
  );
  return report.levels.map(({ concurrency, toolcage, bare }) => {
    const ratio = median(toolcage) / median(bare);
    return {
      figure: `throughput, sandboxed \`prewarm: ${concurrency}\` vs bare \`bun file.ts\`, concurrency ${concurrency} (${PREWARM_CALLS} calls, median of ${toolcage.length} rounds)`,
      measured: `${median(toolcage).toFixed(1)}/s`,
      baseline: `${median(bare).toFixed(1)}/s`,
      value: `${ratio.toFixed(3)}×`,
      target: `≥ ${PREWARM_TARGET.toFixed(2)}×`,
      pass: ratio >= PREWARM_TARGET,
    };
  });
}
