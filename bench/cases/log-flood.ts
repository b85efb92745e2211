import { monitorEventLoopDelay } from 'node:perf_hooks';
import { benchRuntime, ms, trivial, type Row } from '../setup.js';
import { median, timed } from '../stats.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import type { SandboxMode } from '../../src/sandbox/types.js';

const ROUNDS = 4;
const PER_PHASE = 10;
const PER_WRITE = 10_000;

interface FloodPhase {
  readonly latencies: number[];
  readonly lines: number;
  readonly seconds: number;
  readonly cpu: number;
  readonly loopP99Ms: number;
  readonly kind: string;
}

/**
 * One tool floods its logs (tools-fixtures/log-flood.ts, tiny lines, `onLog` set) while trivial
 * executions run in the same runtime, against the same trivial executions with no flood. The
 * phases alternate (alone, flood, alone, flood…), PER_PHASE calls each, ROUNDS rounds.
 */
export async function logFloodRows(mode: SandboxMode): Promise<Row[]> {
  const runtime = benchRuntime({ sandbox: mode, concurrency: 4 });
  try {
    await runtime.executeToolWithTimeout({ toolPath: 'log-flood.ts', input: { ms: 50 } });
    for (let i = 0; i < 5; i++) await trivial(runtime);
    const alone: number[] = [];
    const floods: FloodPhase[] = [];
    const aloneLoop = monitorEventLoopDelay({ resolution: 1 });
    for (let round = 0; round < ROUNDS; round++) {
      aloneLoop.enable();
      for (let i = 0; i < PER_PHASE; i++) alone.push(await timed(() => trivial(runtime)));
      aloneLoop.disable();
      floods.push(await floodPhase(runtime));
    }
    const during = floods.flatMap((phase) => phase.latencies);
    const seconds = floods.reduce((sum, phase) => sum + phase.seconds, 0);
    const lines = floods.reduce((sum, phase) => sum + phase.lines, 0);
    const cpu = floods.reduce((sum, phase) => sum + phase.cpu, 0) / seconds / 1e6;
    const loopP99 = Math.max(...floods.map((phase) => phase.loopP99Ms));
    const excess = median(during) - median(alone);
    const kinds = [...new Set(floods.map((phase) => phase.kind))].join(', ');
    return [
      {
        figure: `log flood (${mode}): trivial call during a flood with onLog vs alone`,
        measured: ms(median(during)),
        baseline: ms(median(alone)),
        value: `${excess >= 0 ? '+' : ''}${excess.toFixed(1)} ms (${(median(during) / median(alone)).toFixed(2)}×)`,
        target: '≤ +25 ms',
        pass: excess <= 25,
      },
      {
        figure: `log flood (${mode}): lines to onLog/s, manager CPU, loop delay (flood ${kinds})`,
        measured: `${Math.round(lines / seconds / 1000)}k lines/s`,
        baseline: `CPU ${(cpu * 100).toFixed(0)} % of a core`,
        value: `p99 ${loopP99.toFixed(1)} ms (alone ${(aloneLoop.percentile(99) / 1e6).toFixed(1)})`,
        target: '(report)',
        pass: undefined,
      },
    ];
  } finally {
    await runtime.close();
  }
}

// PER_PHASE trivial calls while a flood streams; the flood is cancelled after them.
async function floodPhase(runtime: ToolRuntime): Promise<FloodPhase> {
  const controller = new AbortController();
  let lines = 0;
  const flood = runtime
    .executeToolWithTimeout({
      toolPath: 'log-flood.ts',
      input: { ms: 600_000, perWrite: PER_WRITE },
      timeoutMs: 600_000,
      signal: controller.signal,
      onLog: () => lines++,
    })
    .then(
      () => 'success',
      (error: { kind: string }) => error.kind,
    );
  while (lines < 50_000) await new Promise((resolve) => setTimeout(resolve, 5));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const linesBefore = lines;
  const started = performance.now();
  const latencies: number[] = [];
  for (let i = 0; i < PER_PHASE; i++) latencies.push(await timed(() => trivial(runtime)));
  const seconds = (performance.now() - started) / 1000;
  const cpuUsed = process.cpuUsage(cpuBefore);
  loop.disable();
  const delivered = lines - linesBefore;
  controller.abort();
  const kind = await flood;
  return {
    latencies,
    lines: delivered,
    seconds,
    cpu: cpuUsed.user + cpuUsed.system,
    loopP99Ms: loop.percentile(99) / 1e6,
    kind,
  };
}
