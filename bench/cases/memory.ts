import { benchRuntime, trivial, type Row } from '../setup.js';

const WARMUP = 200;
const EXECUTIONS = 10_000;
const IN_FLIGHT = 8;

/** The manager's RSS after 10,000 trivial executions, against its RSS after a warm-up of 200. */
export async function memoryRows(): Promise<Row[]> {
  const runtime = benchRuntime({ concurrency: IN_FLIGHT, telemetry: true });
  try {
    await run(runtime, WARMUP);
    const before = settledRss();
    const started = performance.now();
    await run(runtime, EXECUTIONS);
    const seconds = (performance.now() - started) / 1000;
    const after = settledRss();
    const growth = (after - before) / 2 ** 20;
    return [
      {
        figure: `manager RSS, ${EXECUTIONS.toLocaleString('en')} executions (${seconds.toFixed(0)} s)`,
        measured: `${(after / 2 ** 20).toFixed(1)} MB`,
        baseline: `${(before / 2 ** 20).toFixed(1)} MB after ${WARMUP}`,
        value: `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`,
        target: '≤ +20 MB',
        pass: growth <= 20,
      },
    ];
  } finally {
    await runtime.close();
  }
}

async function run(runtime: ReturnType<typeof benchRuntime>, count: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await trivial(runtime);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

// RSS after a full collection when `--expose-gc` is on (npm run bench sets it).
function settledRss(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().rss;
}
