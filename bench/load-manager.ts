/**
 * One manager of bench/cases/load.ts, in a Node process of its own (bench/node-script.ts): a
 * fresh runtime made through the public API (the built package's entry, dist/index.js) with its
 * defaults — sandboxed, concurrency 8 — over tools-fixtures/. It says `ready` on stdout, waits
 * for `go` on stdin, then submits `count` mixed executions at once (MIX, in turn) and prints one
 * JSON line, `{ sandbox, outcomes: [{ index, kind, ms, wrong? }] }`: each execution's time from
 * its call to its settling (the queue's wait included), and what came back when it was not
 * what the execution was.
 *
 *   node <file> <package root> <fixtures dir> <count>
 */
import { isDeepStrictEqual } from 'node:util';
import { fromDist } from './from-dist.js';
import type * as Toolcage from '../src/index.js';
import type { ExecuteRequest, ExecuteResult, ToolExecutionError } from '../src/index.js';

const [root = '.', fixtures = '.', countArg = '160'] = process.argv.slice(2);
const COUNT = Number(countArg);
const NOISY_LINES = 1_000;

const { createToolRuntime, closeOnSignals, isToolExecutionError, ErrorKind } = await fromDist<
  typeof Toolcage
>(root, 'index.js');

/** Log lines delivered to one execution's `onLog`, by stream. */
interface Lines {
  stdout: number;
  stderr: number;
}

/** One kind of execution: its request, and what is wrong with what came back (or undefined). */
interface Mix {
  readonly kind: string;
  readonly request: (index: number, lines: Lines) => ExecuteRequest;
  readonly ok?: (result: ExecuteResult, index: number, lines: Lines) => string | undefined;
  readonly error?: (error: ToolExecutionError) => string | undefined;
}

// What came back, for the report of a misclassified execution: its kind, message and stderr.
const describe = (error: ToolExecutionError): string =>
  `${error.kind} (exit ${error.exitCode ?? error.signal ?? '–'}, after ${error.durationMs.toFixed(0)} ms): ${error.message.slice(0, 300)} (stderr: ${error.logs.stderr.slice(-1_500) || '–'})`;

const expectKind = (kind: string, error: ToolExecutionError): string | undefined =>
  error.kind === kind ? undefined : describe(error);

const MIX: readonly Mix[] = [
  {
    kind: 'success',
    request: (index) => ({ toolPath: 'ok-sync.ts', input: { index } }),
    ok: ({ output }, index) =>
      isDeepStrictEqual(output, { echo: { index } })
        ? undefined
        : `success with ${JSON.stringify(output)}`,
  },
  {
    kind: 'noisy success',
    request: (_index, lines) => ({
      toolPath: 'noisy-logs.ts',
      input: { lines: NOISY_LINES },
      onLog: (stream) => void lines[stream]++,
    }),
    ok: ({ output }, _index, lines) =>
      isDeepStrictEqual(output, { lines: NOISY_LINES }) &&
      lines.stdout === NOISY_LINES &&
      lines.stderr === NOISY_LINES
        ? undefined
        : `success with ${JSON.stringify(output)}, ${lines.stdout} + ${lines.stderr} log lines`,
  },
  {
    kind: 'throw',
    request: () => ({ toolPath: 'throws.ts' }),
    error: (error) =>
      expectKind(ErrorKind.ToolError, error) ??
      (error.toolError?.code === 'E_WEATHER' ? undefined : 'tool_error without its code'),
  },
  {
    kind: 'timeout',
    request: () => ({ toolPath: 'forever.ts', timeoutMs: 300 }),
    error: (error) => expectKind(ErrorKind.Timeout, error),
  },
  {
    kind: 'exit',
    request: () => ({ toolPath: 'crash-exit.ts' }),
    error: (error) =>
      expectKind(ErrorKind.Crashed, error) ??
      (error.exitCode === 3 ? undefined : `crashed with exit code ${error.exitCode}`),
  },
];

interface Outcome {
  readonly index: number;
  readonly kind: string;
  readonly ms: number;
  readonly wrong?: string;
}

async function execute(runtime: Toolcage.ToolRuntime, index: number): Promise<Outcome> {
  const mix = MIX[index % MIX.length]!;
  const lines: Lines = { stdout: 0, stderr: 0 };
  const started = performance.now();
  const settled = await runtime.executeToolWithTimeout(mix.request(index, lines)).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  const ms = performance.now() - started;
  let wrong: string | undefined;
  if ('result' in settled) {
    const { result } = settled;
    wrong =
      mix.ok === undefined
        ? `success with ${JSON.stringify(result.output)}`
        : mix.ok(result, index, lines);
  } else if (!isToolExecutionError(settled.error)) {
    wrong = `not a ToolExecutionError: ${String(settled.error)}`;
  } else {
    wrong = mix.error === undefined ? describe(settled.error) : mix.error(settled.error);
  }
  return { index, kind: mix.kind, ms, ...(wrong === undefined ? {} : { wrong }) };
}

// The successes and the manager's own calls must never reach a deadline, however long they
// queue behind the others (a call's `timeoutMs` can only lower the runtime's default).
const runtime = createToolRuntime({ rootDir: fixtures, defaults: { timeoutMs: 600_000 } });
// The case stops this process with SIGTERM when it fails: the runtime is closed first.
closeOnSignals(runtime);
try {
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => {
    let text = '';
    process.stdin.on('data', (chunk: Buffer) => {
      text += String(chunk);
      if (text.includes('go\n')) resolve();
    });
  });
  process.stdin.pause();
  const outcomes = await Promise.all(
    Array.from({ length: COUNT }, (_, index) => execute(runtime, index)),
  );
  // What the runtime enforced, from one more success once the load is over.
  const probe = await runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts' });
  console.log(JSON.stringify({ sandbox: probe.enforcement.sandbox, outcomes }));
} finally {
  await runtime.close();
}
