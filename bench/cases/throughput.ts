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
      const target = concurrency === 2 ? 0.9 : undefined;
      rows.push(rateRow(`throughput, concurrency ${concurrency} vs bare`, a, b, target));
    } finally {
      await runtime.close();
    }
  }
  return rows;
}

interface PrewarmReport {
  readonly levels: {
    concurrency: number;
    toolcage: number[];
    none: number[];
    bare: number[];
    bwrap: number[];
    least: number[];
  }[];
}

// bench/throughput-loop.ts in a small Node process of its own, as a user's script would run it.
// Per concurrency: the figure (sandboxed, prewarmed, against bare Bun); the same for
// `sandbox: 'none'`; and, against the hand-written bwrap, how far the sandboxed calls are from
// the floor of one sandbox per call, and that floor against bare Bun; and the least sandbox bwrap
// makes (a user and a mount namespace) against bare Bun, the floor of any sandbox per call.
async function prewarmedRows(): Promise<Row[]> {
  const report = await runScriptForJson<PrewarmReport>(
    benchFile('throughput-loop.ts'),
    [benchFile('from-dist.ts'), benchFile('sum-tool.ts'), benchFile('stats.ts')],
    [PREWARM_LEVELS.join(','), String(PREWARM_CALLS), String(PREWARM_ROUNDS)],
  );
  const rows: Row[] = [];
  for (const level of report.levels) {
    const { concurrency } = level;
    const calls = `concurrency ${concurrency} (${PREWARM_CALLS} calls, median of ${level.toolcage.length} rounds)`;
    const handWritten = 'hand-written `bwrap … bun file.ts` as the sandbox user';
    rows.push(
      rateRow(
        `throughput, sandboxed \`prewarm: ${concurrency}\` vs bare \`bun file.ts\`, ${calls}`,
        level.toolcage,
        level.bare,
        PREWARM_TARGET,
      ),
      rateRow(
        `throughput, \`sandbox: 'none'\`, \`prewarm: ${concurrency}\` vs bare \`bun file.ts\`, ${calls}`,
        level.none,
        level.bare,
        PREWARM_TARGET,
      ),
    );
    if (level.bwrap.length > 0) {
      rows.push(
        rateRow(
          `throughput, sandboxed \`prewarm: ${concurrency}\` vs ${handWritten}, ${calls}`,
          level.toolcage,
          level.bwrap,
        ),
        rateRow(
          `throughput, ${handWritten} vs bare \`bun file.ts\`, ${calls}`,
          level.bwrap,
          level.bare,
        ),
        rateRow(
          `throughput, the least sandbox, \`bwrap --ro-bind / / --unshare-user … bun file.ts\` (a user and a mount namespace) as the sandbox user, vs bare \`bun file.ts\`, ${calls}`,
          level.least,
          level.bare,
        ),
      );
    }
  }
  return rows;
}

function rateRow(figure: string, measured: number[], baseline: number[], target?: number): Row {
  const ratio = median(measured) / median(baseline);
  return {
    figure,
    measured: `${median(measured).toFixed(1)}/s`,
    baseline: `${median(baseline).toFixed(1)}/s`,
    value: `${ratio.toFixed(3)}×`,
    target: target === undefined ? '(report)' : `≥ ${target.toFixed(2)}×`,
    pass: target === undefined ? undefined : ratio >= target,
  };
}
