/**
 * toolcage's benchmarks (`npm run bench`): every figure is a ratio against a baseline measured
 * in the same run, interleaved (A, B, A, B…), median of ≥ 30 runs. Prints one table and writes
 * bench/RESULTS.md. Choose cases with `BENCH_ONLY=latency,throughput,…` (default: all).
 */
import { DEFAULT_LIMITS } from '../src/sandbox/limits.js';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { format } from 'prettier';
import { fileURLToPath } from 'node:url';
import { bundleRows } from './cases/bundle.js';
import { cgroupRows } from './cases/cgroup.js';
import { deadlineRows } from './cases/deadline.js';
import { handwrittenRows } from './cases/handwritten.js';
import { importRows } from './cases/import.js';
import { latencyRows } from './cases/latency.js';
import { loadRows } from './cases/load.js';
import { logFloodRows } from './cases/log-flood.js';
import { memoryRows } from './cases/memory.js';
import { networkRows } from './cases/network.js';
import { publicApiRows } from './cases/public-api.js';
import { settleRows } from './cases/settle.js';
import { telemetryRows } from './cases/telemetry.js';
import { throughputRows } from './cases/throughput.js';
import { describeMachine } from './machine.js';
import { isBwrap, loadSandbox } from './sandbox-plan.js';
import { BUN, type CaseResult, type Row } from './setup.js';
import { markdownTable, textTable } from './table.js';

const rowsOnly = (rows: () => Promise<Row[]>) => async (): Promise<CaseResult> => ({
  rows: await rows(),
});

const CASES: Record<string, () => Promise<CaseResult>> = {
  latency: rowsOnly(latencyRows),
  handwritten: handwrittenRows,
  publicapi: publicApiRows,
  settle: settleRows,
  throughput: rowsOnly(throughputRows),
  load: rowsOnly(loadRows),
  deadline: rowsOnly(async () => [
    ...(await deadlineRows('none')),
    ...((await sandboxLanded()) ? await deadlineRows('bwrap') : []),
  ]),
  cgroup: rowsOnly(cgroupRows),
  telemetry: rowsOnly(telemetryRows),
  memory: rowsOnly(memoryRows),
  bundle: rowsOnly(bundleRows),
  network: rowsOnly(async () =>
    (await sandboxLanded())
      ? await networkRows()
      : [
          {
            figure: 'network: the egress proxy (allow-lists)',
            measured: 'needs bubblewrap',
            baseline: '',
            value: '',
            target: '',
            pass: undefined,
          },
        ],
  ),
  import: rowsOnly(importRows),
  logflood: rowsOnly(async () => [
    ...(await logFloodRows('none')),
    ...((await sandboxLanded()) ? await logFloodRows('bwrap') : []),
  ]),
};

// Whether bubblewrap is usable here (the sandboxed deadline rows need it).
async function sandboxLanded(): Promise<boolean> {
  const plan = await loadSandbox()
    .prepare({
      launchId: 'bench-probe',
      bunPath: BUN,
      bunArgs: [],
      toolPath: fileURLToPath(new URL('../tools-fixtures/ok-sync.ts', import.meta.url)),
      runtimeFiles: [BUN],
      env: {},
      permissions: { read: [], write: [], net: false, env: [], run: false },
      limits: { ...DEFAULT_LIMITS, maxOutputBytes: 1024, maxLogBytes: 1024 },
      mode: 'auto',
    })
    .catch(() => undefined);
  if (plan === undefined) return false;
  try {
    return isBwrap(plan);
  } finally {
    await plan.dispose();
  }
}

// What the ladder's steps are made of, measured apart from it while the hand-written baseline
// was added (same machine, medians; see the commit messages of that change).
const IN_THE_WAY = [
  '### What stands between a call and the hand-written baseline',
  '',
  "- The sandbox's view. The hand-written command binds the whole root at once; toolcage binds",
  '  what the tool may see one by one (Bun, its libraries, the bundle with its bytecode and map,',
  "  the bunfig, the worker's directory) and covers /proc. bubblewrap 0.8 makes each bind a",
  '  mount, a read of the mount table and a remount, ≈ 0.1 ms each: the view without its covers',
  '  ≈ +0.9 ms over `--ro-bind / /` (same flags, our bundle; 60 interleaved rounds). The covers',
  '  were 16 binds (≈ 1.75 ms) for every sandbox; a sandbox that is not host root now gets the',
  '  five its own permission checks leave open (≈ 0.55 ms; docs/permissions.md, "Which user runs',
  '  a sandbox"). The seccomp filter: ≈ 0.4 ms, within the noise of a few runs.',
  '- The limits, on the path of every call, `sandbox: none` included: the cgroups (memory,',
  '  pids) and `RLIMIT_FSIZE`, which the hand-written file does without. Through the launcher',
  '  they cost no exec: it starts the process in its cgroups and sets its rlimits with prlimit().',
  "  The cgroups (and an unsandboxed call's host temp dir) are made ahead, once the previous",
  '  execution is over, and renamed into place: 0.47 → 0.19 ms unsandboxed, ≈ 0.4 → 0.12 ms',
  '  sandboxed (docs/performance.md, "Cgroups made ahead"). Charging Bun\'s pages to a memory',
  '  cgroup costs a little either way.',
  '- The protocol (a request line, the result on fd 3) and the worker around the tool: ≈ 0.5–1',
  '  ms. The tool is no longer a module of its own: its bundle carries the worker and Bun runs',
  '  it in the worker\'s place (the step "the tool\'s bundle … in its place" against the worker',
  "  entry that imports the tool's file, as a `bundle: false` tool still does): measured apart",
  '  on Bun 1.4.5, a trivial tool, medians of 60 fresh processes, the import of the tool from its',
  '  file cost 1.0 ms, the bundle carrying the worker 0.2 ms over a script with the tool inline.',
  "- The call's own work in the manager, ≈ 1–1.5 ms of a cold call (marks through the public API,",
  '  calls 30 ms apart): validation and resolution ≈ 0.4 ms, the plan 0.2–0.45 ms, the spares',
  "  taken 0.1–0.2 ms before the launcher's request; after the result, one turn of the event",
  '  loop (the logs written before it are read) and the classification, ≈ 0.35–0.65 ms. Warm, in',
  '  a loop, the plan takes 0.12 ms: most of the rest is caches gone cold between calls.',
  "- The cgroups' removal after each call: ≈ 1.8 ms of kernel work for two v1 cgroups, off the",
  "  call's path but on the CPU the next call needs when two cores are busy.",
  "- No longer in the way: toolcage's worker against the bare script (its result went out through",
  "  node:fs's `writeSync`, and importing node:fs cost Bun ≈ 3 ms of CPU at every start: the built",
  '  worker took 9.4 ms of CPU with it, 6.6 ms without, perf stat, 4 × 30 runs); the launch',
  "  itself, which the launcher pays for (≈ 1–2 ms saved against Node's fork of a large manager);",
  "  the launcher's release of a held sandbox as the sandbox user (0.87 → 0.09 ms of its CPU).",
  '- A step of the ladder moves by ± 1–2 ms from run to run on this shared machine, its medians',
  '  by less; only the ratios of one run mean anything.',
  '',
];

const only = process.env['BENCH_ONLY']?.split(',').filter(Boolean) ?? Object.keys(CASES);
const rows: Row[] = [];
const sections: string[] = [];
const started = performance.now();
// Other work on the machine moves every figure: the load around the run goes into RESULTS.md.
const loadAtStart = loadavg()[0]!;
for (const name of only) {
  const run = CASES[name];
  if (run === undefined)
    throw new Error(`unknown bench case \`${name}\` (have: ${Object.keys(CASES).join(', ')})`);
  const caseStarted = performance.now();
  process.stderr.write(`bench: ${name}…\n`);
  const result = await run();
  rows.push(...result.rows);
  if (result.section !== undefined) sections.push(result.section);
  process.stderr.write(
    `bench: ${name} took ${((performance.now() - caseStarted) / 1000).toFixed(0)} s\n`,
  );
}
const seconds = (performance.now() - started) / 1000;

const machine = {
  ...describeMachine(BUN),
  'load average (1 min), start → end': `${loadAtStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
};
const table = textTable(rows);
console.log(table);
for (const section of sections) console.log(`\n${section}`);
const missed = rows.filter((row) => row.pass === false).length;
console.log(
  `\n${missed === 0 ? 'all measured targets PASS' : `${missed} target(s) MISS`} (${seconds.toFixed(0)} s)`,
);

if (only.length === Object.keys(CASES).length) {
  const results = [
    '# toolcage bench results',
    '',
    'Written by `npm run bench` (bench/run.ts). Every figure is measured against a baseline in the',
    'same run, interleaved (A, B, A, B…), median of ≥ 30 runs; deadline figures are p50/p99 over',
    'the deadline itself; prewarmed throughput is the median of 6 rounds of 200 calls, and the',
    "figures under load are p50/p99 of each kind's executions (no baseline).",
    '',
    ...Object.entries(machine).map(([key, value]) => `- ${key}: ${value}`),
    `- duration: ${seconds.toFixed(0)} s`,
    '',
    markdownTable(rows),
    '',
    ...(sections.length === 0
      ? []
      : ['## Where the time of a call goes', '', ...sections, ...IN_THE_WAY]),
    '## How the figures are taken',
    '',
    '- The runtime measured is the built package (dist/), the way users run it; the bare',
    '  baseline is `bench/bare-worker.ts` (read the request on stdin, import the tool, write the',
    '  result on fd 3, exit), spawned from the same Node process with the same pipes. toolcage',
    '  starts its processes through its launcher (a long-lived Bun process, see README,',
    "  Performance), not with Node's fork: that difference is toolcage's, and is measured.",
    "- Sandboxed: the bare `bwrap … bun` runs the bwrap command of the sandbox's own LaunchPlan",
    '  for the same tool (a fresh plan per run, prepared outside the timing), with the bare script',
    "  in place of the worker; toolcage's wrapper around bwrap (cgroups, rlimits) is its own cost.",
    '- Hand-written: `bench/handwritten.ts` is what a user writes instead of toolcage (read the',
    '  input on stdin, write the result on stdout, the tool inline), run as `bun file.ts` and',
    '  under `bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent',
    '  --new-session`, spawned from the same Node process. The ladder below the table goes from',
    '  it to a toolcage call one step at a time; every step runs once per round, in a rotating',
    '  order, 60 rounds (bench/cases/handwritten.ts; alone: `BENCH_ONLY=handwritten npm run',
    '  bench`). A difference of medians is what a step costs, within the noise of a few tenths.',
    '- Prewarmed: each call is made once the pool has refilled and its process has booted.',
    '- Throughput: all calls of a round submitted at once to a runtime of that `concurrency` (its',
    '  queue bounds them), against bare `bun` run by a runner as simple, at most as many at once;',
    '  executions per second over the round, median of the rounds. Sandbox none: 30 interleaved',
    '  rounds of max(8, 2 × concurrency) calls. Sandboxed with `prewarm` sized to the concurrency',
    "  (`bench/throughput-loop.ts`, in a small Node process of its own, as a user's script, since",
    '  Node forks the whole process that spawns the bare baseline): the tool `(i) => ({ sum: i.a +',
    '  i.b })` by path against the hand-written `bun file.ts`, 200 calls per round after 40 of',
    '  warm-up, 6 rounds alternating which goes first; every round (both) starts once the pool',
    '  holds `concurrency` idle processes, so its refill never lands on a bare round, and the',
    "  prewarmed processes it starts with are toolcage's head start (at most 8 of 200 calls).",
    '- Under load (`BENCH_ONLY=load`): two `node` processes spin on the 2 cores (killed at the',
    '  end, even on error), and three fresh managers, each a Node process of its own',
    '  (`bench/load-manager.ts`: three services on one host; in one process their event loops',
    "  would be one, and one manager's log delivery would count as another's latency), made",
    '  through the public API with its defaults (sandboxed, concurrency 8), each submit 160',
    '  executions at once: in turn a success (`ok-sync.ts`, its echo checked), a noisy success',
    '  (`noisy-logs.ts`, 1,000 lines on each stream, every line delivered to `onLog`), a throw',
    '  (`throws.ts`: `tool_error` with its code), a timeout (`forever.ts`, `timeoutMs: 300`) and',
    '  an exit (`crash-exit.ts`: `crashed`, exit code 3). Latency is from the call to its',
    "  settling, the queue's wait included; a result that is not what its execution was fails the",
    '  bench, naming the execution.',
    '- Deadline: `tools-fixtures/spin.ts` with a 200 ms deadline, sequential; processes are',
    '  polled in /proc every ms. A zombie reparented to PID 1 counts as gone; one of the manager or',
    '  of its launcher counts until it is reaped (see bench/cases/deadline.ts).',
    '- Telemetry: 400 interleaved runs each (the difference is a few tenths of a ms).',
    '- Memory: RSS after a full GC (`--expose-gc`), after 200 and after 10,000 more executions.',
    '- Bundle: a tool importing zod 4 (copied into a temp project), sandboxed, no prewarm. Bundled:',
    '  every measured call is a cache hit (the first call built it). Unbundled: `bundle: false` with',
    '  a read grant on node_modules, Bun resolving and loading zod from it. The freshness check is',
    '  ToolBundler.module() on a tool it has built (a stat of each input and of the bundle); the',
    '  bytecode row runs both bundles with the bare script.',
    '- Source maps (`bench/source-map.ts`, the zod tool; not part of `npm run bench`, its figures',
    '  are from one run of it on this shared machine at load 4–5, so only the sign and the order of',
    "  magnitude mean anything): a bundle's map is external (`<bundle>.map`, bound beside it in the",
    '  sandbox), so the bundle grows by its `//# debugId` line (46 B) and the bytecode not at all;',
    "  the map is 143 KiB beside a 178 KiB bundle (its sources' text left out). `bun build` with the",
    '  map: 126 ms against 107 ms without (265 against 244 ms in a second run), medians of 20',
    '  interleaved. A cold sandboxed call, map beside vs moved away, 30–40 interleaved: returning',
    '  62.9/80.4 ms against 73.8/83.3 ms, throwing a ZodError (Bun maps its stack) 104.8/118.3 ms',
    '  against 115.7/114.6 ms — within the noise either way: Bun opens the map only when it maps a',
    '  stack (strace of a bundle that does not throw: never opened).',
    '- CLI exit with a collector that is down (`test/cli/exit-flush.test.ts`, `toolcage run` of',
    '  `ok-sync.ts` with `OTEL_EXPORTER_OTLP_ENDPOINT` on a closed loopback port against the same',
    '  run without telemetry, 5 interleaved runs each, medians; load 11 on 2 cores): +258 ms (the',
    "  SDK's load, ≈ 0.2 s of CPU, mostly hidden behind the sandbox's detection). Before the bounded",
    '  flush: +3.1 s in the same conditions (+2.2–2.7 s reported on a quieter machine).',
    '- Network: sandboxed; a tool makes 20 sequential `fetch`es to a loopback server and times',
    '  each inside itself, through the egress proxy (`net: [name]`, the name mapped by',
    '  `network.hosts`) vs. straight to it (`net: true`); the figure is the difference of the',
    '  medians of all requests. Cold start: the trivial tool with an allow-list vs. no network.',
    "- Import: `import 'toolcage'` in a fresh `node` (30 interleaved processes each), against",
    "  `import 'toolcage'` plus `'toolcage/telemetry'` (the SDK and exporters the entry loaded",
    '  itself until they moved to the subpath); time of the import, and RSS growth across it.',
    '  Against the build of the commit before the move (`bench/import-cost.ts <its root>`, 30',
    '  processes each, interleaved): 0.40× the time and 0.60× the RSS growth (89 ms against 224',
    '  ms, 13.7 MB against 22.9 MB), 0.52× and 0.68× once the network allow-lists had joined the',
    '  entry (62 ms against 120 ms, 15.4 MB against 22.6 MB).',
    '- Log flood: `tools-fixtures/log-flood.ts` writes blocks of 10,000 tiny lines to stdout with',
    '  `onLog` set (a counter), while the trivial tool runs in the same runtime (concurrency 4);',
    '  4 rounds of 10 calls alone, then 10 calls during a flood (cancelled after them). CPU is the',
    "  manager's own (process.cpuUsage) over the flood phases, trivial calls included; loop delay",
    '  is `monitorEventLoopDelay` (1 ms resolution) over the same phases.',
    '- Public API (`BENCH_ONLY=publicapi`): bench/public-api-loop.ts in a Node process of its own',
    "  (as a user's script; the bench's process is ≈ 140 MB, and a baseline Node spawns forks all of",
    "  it), then holding 70 and 200 MB more: runtimes with `sandbox: 'none'`, sandboxed, sandboxed",
    '  with `prewarm: 2`, a tool by path, in the same rounds as a bare `bun file.ts` and a',
    '  hand-written `bwrap … bun file.ts` (as the manager, and as the sandbox user: Node spawning',
    '  with uid/gid, and through setpriv); 40 rounds, every variant once per round in a rotating',
    '  order, 40 ms pauses around the prewarmed call.',
    "- Settle (`BENCH_ONLY=settle`): a process started as the pool starts one (dist's sandbox,",
    '  launcher and spawnPlan), 40 ms to boot, then the time of each milestone after its request;',
    '  in the same rounds, a prewarmed call through the public API.',
    '',
  ].join('\n');
  // Formatted as the repository's `prettier --check` expects it.
  writeFileSync(
    new URL('./RESULTS.md', import.meta.url),
    await format(results, { parser: 'markdown' }),
  );
}
