import { NO_HINTS, type SandboxHints } from '../sandbox/classify-hints.js';
import { signalOfExitCode } from '../sandbox/limit-hints.js';
import { classify, type EndReason, type Verdict } from './classify.js';
import { watchCpu } from './cpu-watch.js';
import type { CapturedLogs } from '../errors/tool-execution-error.js';
import type { LaunchPlan, LimitReport } from '../sandbox/types.js';
import { LogCapture } from './log-capture.js';
import { LogReader } from './log-reader.js';
import { ResultChannel } from './result-channel.js';
import type { ProcessEnd } from './process-end.js';
import type { SpawnedProcess } from './spawn.js';
import { drain } from './stdio-drain.js';
import { Stopper } from './stopper.js';
import { graceOf, tearDown, type TeardownBounds } from './teardown.js';
import { IN_HAND, LOGS_BUSY, parseMessage, resultInHand } from './result-in-hand.js';
import { RESULT_FRAME_BYTES, type WorkerMessage, type WorkerRequest } from './worker/protocol.js';

/** What one process run produced, for classification and telemetry. */
export interface ProcessOutcome {
  readonly verdict: Verdict;
  readonly end: ProcessEnd;
  readonly outputBytes: number;
  readonly logs: CapturedLogs;
  /**
   * Set when the run settled on its whole result while its process was still there (see
   * {@link RunProcessOptions.settleOnResult}): settles with the process's real exit once nothing
   * of it is left. `end` is then the worker's exit after a result (code 0). Never rejects.
   */
  readonly teardown?: Promise<ProcessEnd>;
}

export interface RunProcessOptions {
  readonly toolId: string;
  readonly request: WorkerRequest;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly maxLogBytes: number;
  readonly killGraceMs: number;
  /** Aborted with the EndReason as `reason` when toolcage decides to end the run. */
  readonly signal: AbortSignal;
  readonly onLog: ((stream: 'stdout' | 'stderr', line: string) => void) | undefined;
  /** Explains a tool error through the sandbox (denied operation, limit hit). */
  /**
   * Settle as soon as fd 3 has ended with a whole, valid result that toolcage did not end, and
   * the logs written before it are in: the exit, the kill of what is left and the streams' close
   * go on in the outcome's `teardown`, within these bounds (see teardown.ts). Unset: the run
   * settles once the process has exited and every stream is closed.
   */
  readonly settleOnResult?: TeardownBounds;
  readonly explain: (
    message: WorkerMessage | 'invalid' | undefined,
    end: ProcessEnd,
    report: LimitReport,
  ) => SandboxHints;
}

const NO_LIMITS: LimitReport = { memoryExceeded: false, processesExceeded: false };

/**
 * Drives one spawned process to its end: sends the request, captures logs and the result with
 * bounded memory, kills the whole tree when the signal aborts (deadline, cancel, close, output
 * cap), waits until nothing of it is left, and classifies what happened.
 */
export async function runProcess(
  child: SpawnedProcess,
  plan: LaunchPlan,
  options: RunProcessOptions,
): Promise<ProcessOutcome> {
  const { signal } = options;
  const stopper = new Stopper(child, plan, options.killGraceMs);
  const output = captureOutput(child, options, () => stopper.overflow());
  const onAbort = (): void => stopper.abort(signal.reason as EndReason);
  const stopWatchingCpu = watchCpu(plan, () => stopper.abort('cpu_limit'));
  let teardown: Promise<ProcessEnd> | undefined;
  try {
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    child.stdin.write(`${JSON.stringify(options.request)}\n`);
    const bounds = options.settleOnResult;
    if (bounds !== undefined) {
      const first = await Promise.race([
        child.exited,
        resultInHand(child.result, output.channel, output.logs, stopper),
      ]);
      // The logs are still coming in (a flood): the process has its grace to finish them, then
      // is killed, and the exit's path reads everything.
      if (first === LOGS_BUSY) stopper.killIn(graceOf(bounds));
      const early = first === IN_HAND ? await onResult(child, plan, options, output) : undefined;
      if (early !== undefined) {
        signal.removeEventListener('abort', onAbort);
        stopWatchingCpu();
        teardown = tearDown(child, stopper, bounds).then((end) => normalizeEnd(end, plan));
        return { ...early, teardown };
      }
    }
    const end = normalizeEnd(await child.exited, plan);
    stopper.killLeftovers();
    await closeStreams(child, output);
    const verdict = await judge(child, plan, options, stopper.reason, end, output);
    const outputBytes = verdict.ok
      ? output.channel.bytes - RESULT_FRAME_BYTES
      : output.channel.bytes;
    return { verdict, end, outputBytes, logs: logsOf(output.stdout, output.stderr) };
  } finally {
    if (teardown === undefined) {
      signal.removeEventListener('abort', onAbort);
      stopWatchingCpu();
      stopper.dispose();
    }
  }
}

// The outcome of a run whose whole result is in hand, or undefined when its verdict is not a
// success (the exit decides then). The logs are what was read by now; nothing more is delivered.
async function onResult(
  child: SpawnedProcess,
  plan: LaunchPlan,
  options: RunProcessOptions,
  output: Output,
): Promise<ProcessOutcome | undefined> {
  const verdict = await judge(child, plan, options, undefined, AFTER_RESULT, output);
  if (!verdict.ok) return undefined;
  output.logs.dispose();
  output.stdout.end();
  output.stderr.end();
  const outputBytes = output.channel.bytes - RESULT_FRAME_BYTES;
  return { verdict, end: AFTER_RESULT, outputBytes, logs: logsOf(output.stdout, output.stderr) };
}

/** How a run that settled on its result is reported to have ended: the worker's exit after it. */
const AFTER_RESULT: ProcessEnd = { code: 0, signal: null };

/** What a run writes: its logs (bounded, line by line to `onLog`) and its result channel. */
interface Output {
  readonly stdout: LogCapture;
  readonly stderr: LogCapture;
  readonly logs: LogReader;
  readonly channel: ResultChannel;
  /** Settles once the logs and the result channel have delivered their last byte. */
  readonly ended: Promise<unknown>;
}

function captureOutput(
  child: SpawnedProcess,
  options: RunProcessOptions,
  onOverflow: () => void,
): Output {
  const stdout = new LogCapture(options.maxLogBytes, lineSink(options.onLog, 'stdout'));
  const stderr = new LogCapture(options.maxLogBytes, lineSink(options.onLog, 'stderr'));
  const logs = new LogReader([
    [child.stdout, stdout],
    [child.stderr, stderr],
  ]);
  const channel = new ResultChannel(child.result, options.maxOutputBytes, onOverflow);
  return { stdout, stderr, logs, channel, ended: Promise.all([logs.delivered, channel.done]) };
}

// Every byte is in once each stream has ended; destroy() then closes the descriptors at once
// (libuv closes the fd inside uv_close; only its callback, and so the 'close' event, waits for
// the next turn of the loop, not worth waiting for). A stream still
// open after the drain wait is held by a grandchild the kill could not reach: closed anyway.
// What was read by then is delivered to `onLog` (paced) before the run settles.
async function closeStreams(child: SpawnedProcess, output: Output): Promise<void> {
  await drain({
    ended: output.ended,
    progress: () => output.logs.progress + output.channel.bytes,
  });
  for (const stream of [child.stdout, child.stderr, child.result]) stream.destroy();
  child.stdin.destroy();
  await output.logs.closed();
  output.logs.dispose();
  output.stdout.end();
  output.stderr.end();
}

// The verdict on a finished run. A result message that toolcage did not end is a success
// whatever the limits saw (classify reads no limit then): the cgroup files and the sandbox's
// hints are read for failures only.
async function judge(
  child: SpawnedProcess,
  plan: LaunchPlan,
  options: RunProcessOptions,
  reason: EndReason | undefined,
  end: ProcessEnd,
  output: Output,
): Promise<Verdict> {
  const message = parseMessage(output.channel.text());
  const clean =
    reason === undefined &&
    message !== undefined &&
    message !== 'invalid' &&
    message.type === 'result';
  const report = clean ? NO_LIMITS : await plan.inspect();
  const hints = clean ? NO_HINTS : options.explain(message, end, report);
  return classify({
    toolId: options.toolId,
    reason,
    timeoutMs: options.timeoutMs,
    maxOutputBytes: options.maxOutputBytes,
    resultBytes: output.channel.bytes,
    spawnError: child.spawnError(),
    exitCode: end.code,
    signal: end.signal,
    lost: end.lost,
    message,
    stderrTail: output.stderr.text().slice(-4096),
    sandboxFailed: end.sandboxFailed,
    memoryExceeded: report.memoryExceeded,
    processesExceeded: report.processesExceeded,
    denial: hints.denial,
    limitHit: hints.limitHit,
    limitDetail: hints.limitDetail,
  });
}

// Under bwrap the tool's Bun is a child of bwrap's init, which reports a death by signal N as
// exit code 128 + N; read it back as the signal, as a shell would.
function normalizeEnd(end: ProcessEnd, plan: LaunchPlan): ProcessEnd {
  if (plan.enforcement.sandbox !== 'bwrap' || end.signal !== null) return end;
  const signal = signalOfExitCode(end.code);
  return signal === undefined ? end : { code: null, signal: signal as NodeJS.Signals };
}

function logsOf(stdout: LogCapture, stderr: LogCapture): CapturedLogs {
  return {
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
  };
}

function lineSink(
  onLog: RunProcessOptions['onLog'],
  stream: 'stdout' | 'stderr',
): ((line: string) => void) | undefined {
  if (onLog === undefined) return undefined;
  return (line) => {
    try {
      onLog(stream, line);
    } catch {
      // A throwing log callback must not break the execution it observes.
    }
  };
}
