/**
 * Latency under load (issue "Calls at the floor"): beside CPU hogs on the machine's cores (Node
 * processes spinning), three fresh managers each submit 160 mixed executions at once —
 * successes, noisy successes, throws, timeouts, exits (bench/load-manager.ts) — and every
 * result must come back as what it was: a misclassified execution fails the bench, naming it.
 *
 * Each manager is a Node process of its own, made through the public API: three services on one
 * host, as toolcage is deployed. In one process, their event loops would be one, and a
 * manager's work (delivering another's log lines, settling its results) would be measured as
 * the others' latency; apart, they compete only for the CPU, through the kernel, like the hogs.
 * Their cgroups are their own (a manager's owner tag is per process).
 *
 * Run it alone with `BENCH_ONLY=load npm run bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { benchFile, ROOT, withScript } from '../node-script.js';
import { FIXTURES, ms, type Row } from '../setup.js';
import { quantile } from '../stats.js';

const MANAGERS = 3;
const EXECUTIONS = 160;
const HOGS = 2;
/**
 * A busy loop that exits once its parent is gone (checked every ≈ 0.1–0.3 s), so that a bench
 * killed without its `finally` leaves no hog behind.
 */
const HOG = `const parent = process.ppid; for (let i = 1; ; i++) if (i % 1e8 === 0 && process.ppid !== parent) process.exit();`;

interface Outcome {
  readonly index: number;
  readonly kind: string;
  readonly ms: number;
  readonly wrong?: string;
}

interface ManagerReport {
  readonly sandbox: string;
  readonly outcomes: Outcome[];
}

/** p50/p99 from the call of each kind and of all, and the count checked. Throws on a misclassification. */
export async function loadRows(): Promise<Row[]> {
  const hogs = Array.from({ length: HOGS }, () =>
    spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' }),
  );
  let reports: ManagerReport[];
  try {
    reports = await withScript(
      benchFile('load-manager.ts'),
      [benchFile('from-dist.ts')],
      runManagers,
    );
  } finally {
    await Promise.all(hogs.map(stop));
  }
  const outcomes = reports.flatMap((report, manager) =>
    report.outcomes.map((outcome) => ({ ...outcome, manager: manager + 1 })),
  );
  const wrong = outcomes.filter((outcome) => outcome.wrong !== undefined);
  if (wrong.length > 0 || outcomes.length !== MANAGERS * EXECUTIONS) {
    const named = wrong
      .slice(0, 20)
      .map((o) => `manager ${o.manager}, execution ${o.index} (${o.kind}): got ${o.wrong}`);
    throw new Error(
      `bench load: ${wrong.length} of ${outcomes.length} executions (expected ${MANAGERS * EXECUTIONS}) did not come back as what they were:\n${named.join('\n')}`,
    );
  }
  const sandboxes = [...new Set(reports.map((report) => report.sandbox))].join(', ');
  const setting = `${HOGS} CPU hogs, ${MANAGERS} managers × ${EXECUTIONS} at once`;
  const kinds = [...new Set(outcomes.map((outcome) => outcome.kind))];
  const latency = (label: string, samples: number[]): Row => ({
    figure: `under load (${setting}): ${label}, from the call`,
    measured: `p50 ${ms(quantile(samples, 0.5))}`,
    baseline: `${samples.length} executions`,
    value: `p99 ${ms(quantile(samples, 0.99))}`,
    target: '(report)',
    pass: undefined,
  });
  return [
    {
      figure: `under load (${setting}, sandbox: ${sandboxes}): results as expected`,
      measured: `${outcomes.length - wrong.length}`,
      baseline: `${outcomes.length} checked`,
      value: `${wrong.length} wrong`,
      target: 'all',
      pass: true,
    },
    ...kinds.map((kind) =>
      latency(
        kind,
        outcomes.filter((outcome) => outcome.kind === kind).map((outcome) => outcome.ms),
      ),
    ),
    latency(
      'all',
      outcomes.map((outcome) => outcome.ms),
    ),
  ];
}

// The managers, started together: each says `ready` once its runtime exists, then all get `go`.
async function runManagers(script: string): Promise<ManagerReport[]> {
  const managers = Array.from({ length: MANAGERS }, () =>
    spawn(process.execPath, [script, ROOT, FIXTURES, String(EXECUTIONS)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  try {
    const outputs = managers.map(collect);
    await Promise.all(outputs.map((output) => output.ready));
    for (const manager of managers) manager.stdin.write('go\n');
    return await Promise.all(outputs.map((output) => output.report));
  } finally {
    await Promise.all(managers.map(stop));
  }
}

// A manager's stdout: `ready`, then its report, the last line once it has exited with 0.
function collect(manager: ChildProcess): { ready: Promise<void>; report: Promise<ManagerReport> } {
  let stdout = '';
  let stderr = '';
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  manager.stdout?.on('data', (chunk: Buffer) => {
    stdout += String(chunk);
    if (stdout.startsWith('ready\n')) signalReady();
  });
  manager.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-2000)));
  const report = once(manager, 'close').then(([code]) => {
    if (code !== 0) throw new Error(`bench load: a manager exited with ${code}: ${stderr}`);
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ManagerReport;
  });
  // A manager that fails before `ready` fails the wait for it too.
  return { ready: Promise.race([ready, report.then(() => {})]), report };
}

// Ends a child still running (a hog; a manager the case gave up on: SIGTERM closes its runtime).
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}
