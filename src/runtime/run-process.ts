import type { Readable } from 'node:stream';
import { signalOfExitCode } from '../sandbox/classify-hints.js';
import { classify, type EndReason, type Verdict } from '../errors/classify.js';
import type { CapturedLogs } from '../errors/tool-execution-error.js';
import type { LaunchPlan, LimitReport } from '../sandbox/types.js';
import { killProcessGroup } from './kill-tree.js';
import { LogCapture } from './log-capture.js';
import { ResultChannel } from './result-channel.js';
import type { ProcessEnd, SpawnedProcess } from './spawn.js';
import { RESULT_FRAME_BYTES, type WorkerMessage, type WorkerRequest } from './worker/protocol.js';

/** What one process run produced, for classification and telemetry. */
export interface ProcessOutcome {
  readonly verdict: Verdict;
  readonly end: ProcessEnd;
  readonly outputBytes: number;
  readonly logs: CapturedLogs;
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
  readonly explain: (
    message: WorkerMessage | 'invalid' | undefined,
    end: ProcessEnd,
    report: LimitReport,
  ) => {
    denied: string | undefined;
    grantHint: string | undefined;
    limitHit: Observation['limitHit'];
    limitDetail: string | undefined;
  };
}

type Observation = Parameters<typeof classify>[0];

const NO_LIMITS: LimitReport = { memoryExceeded: false, processesExceeded: false };
const NO_HINTS = {
  denied: undefined,
  grantHint: undefined,
  limitHit: undefined,
  limitDetail: undefined,
} as const;

// After the tool's own process has exited, how long its stdio may stay open (held by a
// grandchild the kill could not reach) before toolcage closes its ends.
const STDIO_DRAIN_MS = 200;

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
  let reason: EndReason | undefined;
  let graceTimer: NodeJS.Timeout | undefined;

  const killEverything = (): void => {
    killProcessGroup(child.pid, 'SIGKILL');
    plan.killAll();
  };
  const onAbort = (): void => {
    reason ??= signal.reason as EndReason;
    // The tool's context.signal aborts first (the `abort` line); then the tree is killed, after
    // the grace period with a SIGTERM to the tool's own processes at its start.
    child.stdin.write('abort\n');
    if (options.killGraceMs > 0) {
      plan.terminate();
      // Unsandboxed, the tool leads its own process group. Under bwrap the group is bwrap's,
      // and a SIGTERM there ends the sandbox at once: plan.terminate() reaches the tool instead.
      if (plan.enforcement.kill === 'process-group') killProcessGroup(child.pid, 'SIGTERM');
      graceTimer = setTimeout(killEverything, options.killGraceMs);
    } else {
      killEverything();
    }
  };

  const stdout = new LogCapture(options.maxLogBytes, lineSink(options.onLog, 'stdout'));
  const stderr = new LogCapture(options.maxLogBytes, lineSink(options.onLog, 'stderr'));
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const logsEnded = Promise.all([endOf(child.stdout), endOf(child.stderr)]);
  const channel = new ResultChannel(child.result, options.maxOutputBytes, () => {
    reason ??= 'output_limit';
    killEverything();
  });

  try {
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    child.stdin.write(`${JSON.stringify(options.request)}\n`);

    const end = normalizeEnd(await child.exited, plan);
    // Whatever the tool left running (grandchildren, a sandbox still tearing down) goes now:
    // through its cgroup alone when it has one (a process-group kill that finds nothing throws
    // ESRCH inside Node: ≈ 0.08 ms on the settle path, measured).
    if (plan.killsAll) plan.killAll();
    else killEverything();
    // Every byte is in once each stream has ended; destroy() then closes the descriptors at once
    // (libuv closes the fd inside uv_close; only its callback, and so the 'close' event, waits
    // for the next turn of the loop — ≈ 0.3 ms later, measured, not worth waiting for).
    await Promise.race([Promise.all([logsEnded, channel.done]), delay(STDIO_DRAIN_MS)]);
    for (const stream of [child.stdout, child.stderr, child.result]) stream.destroy();
    child.stdin.destroy();
    stdout.end();
    stderr.end();

    const message = parseMessage(channel.text());
    // A result message that toolcage did not end is a success whatever the limits saw (classify
    // reads no limit then): the cgroup files and the sandbox's hints are read for failures only.
    const clean =
      reason === undefined &&
      message !== undefined &&
      message !== 'invalid' &&
      message.type === 'result';
    const report = clean ? NO_LIMITS : await plan.inspect();
    const hints = clean ? NO_HINTS : options.explain(message, end, report);
    const verdict = classify({
      toolId: options.toolId,
      reason,
      timeoutMs: options.timeoutMs,
      maxOutputBytes: options.maxOutputBytes,
      resultBytes: channel.bytes,
      spawnError: child.spawnError(),
      exitCode: end.code,
      signal: end.signal,
      message,
      stderrTail: stderr.text().slice(-4096),
      memoryExceeded: report.memoryExceeded,
      processesExceeded: report.processesExceeded,
      denied: hints.denied,
      grantHint: hints.grantHint,
      limitHit: hints.limitHit,
      limitDetail: hints.limitDetail,
    });
    const outputBytes = verdict.ok ? channel.bytes - RESULT_FRAME_BYTES : channel.bytes;
    return { verdict, end, outputBytes, logs: logsOf(stdout, stderr) };
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (graceTimer !== undefined) clearTimeout(graceTimer);
  }
}

// Under bwrap the tool's Bun is a child of bwrap's init, which reports a death by signal N as
// exit code 128 + N; read it back as the signal, as a shell would.
function normalizeEnd(end: ProcessEnd, plan: LaunchPlan): ProcessEnd {
  if (plan.enforcement.sandbox !== 'bwrap' || end.signal !== null) return end;
  const signal = signalOfExitCode(end.code);
  return signal === undefined ? end : { code: null, signal: signal as NodeJS.Signals };
}

function parseMessage(text: string | undefined): WorkerMessage | 'invalid' | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && 'type' in value) {
      const type = value.type;
      if (type === 'result' && 'output' in value) return value as WorkerMessage;
      if (type === 'error' && 'phase' in value && 'error' in value) return value as WorkerMessage;
    }
    return 'invalid';
  } catch {
    return 'invalid';
  }
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

// Settles when `stream` has delivered its last byte (or was closed without an end).
function endOf(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
