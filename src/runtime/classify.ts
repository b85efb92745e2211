/**
 * Classification of a finished process: from everything toolcage observed of one run to its
 * verdict (success, or an error kind with its message); run-process.ts gathers the observation.
 * What the tool's process wrote is its claim and never makes a system kind; `spawn_failed`,
 * `internal` and `out_of_memory` rest only on what toolcage observed itself (docs/architecture.md,
 * "Facts and claims").
 */
import { denialMessage, type Denial } from '../errors/denial.js';
import { toErrorLink, type ErrorLink } from '../errors/error-link.js';
import { ErrorKind } from '../errors/kinds.js';
import type { LimitName, ToolThrownError } from '../errors/tool-execution-error.js';
import { RESULT_FRAME_BYTES, type WorkerMessage } from './worker/protocol.js';

/** Why toolcage itself ended a run, recorded at the moment it decided (first reason wins). */
export type EndReason = 'timeout' | 'cancelled' | 'closed' | 'output_limit' | 'cpu_limit';

/** Everything toolcage observed of one finished run. */
export interface Observation {
  readonly toolId: string;
  readonly reason: EndReason | undefined;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Bytes received on the result channel (up to where it overflowed). */
  readonly resultBytes: number;
  readonly spawnError: Error | undefined;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Why toolcage killed the process itself, having lost track of it (ProcessEnd.lost). */
  readonly lost: string | undefined;
  /** The worker's message; `invalid` when fd 3 carried something that is not one; undefined when nothing came. */
  readonly message: WorkerMessage | 'invalid' | undefined;
  readonly stderrTail: string;
  /**
   * Why the sandbox never started the tool, as the launcher saw it (ProcessEnd.sandboxFailed):
   * nothing of the tool ran, so what is on stderr is bwrap's.
   */
  readonly sandboxFailed: string | undefined;
  /**
   * The memory limit was hit, as toolcage observed it: the memory cgroup's OOM events
   * (LimitReport.memoryExceeded). Where memory is bounded by an rlimit instead (no memory
   * cgroup), that bound's own observed fact must arrive here the same way, through the
   * LimitReport: Bun's `RangeError: Out of memory` is text the tool can print or throw at will.
   */
  readonly memoryExceeded: boolean;
  readonly processesExceeded: boolean;
  /** The denial that explains the failure (sandbox/denials.ts). */
  readonly denial: Denial | undefined;
  /** An rlimit the tool's error or exit points to. */
  readonly limitHit: LimitName | undefined;
  readonly limitDetail: string | undefined;
}

/** The verdict: success, or a kind with its message. */
export type Verdict =
  | { readonly ok: true; readonly output: unknown }
  | {
      readonly ok: false;
      readonly kind: ErrorKind;
      readonly message: string;
      readonly limit?: LimitName;
      readonly toolError?: ToolThrownError;
      /** What the sandbox denied, for `permission_denied`. */
      readonly denial?: Denial;
    };

/**
 * Decides the outcome of one run from what was observed. Pure: toolcage's own recorded reason
 * first, then the result message, the limits, the exit signal and code.
 */
export function classify(o: Observation): Verdict {
  const tool = `Tool \`${o.toolId}\``;
  if (o.reason !== undefined) return BY_REASON[o.reason](o, tool);
  const notStarted = fromStartFailure(o, tool);
  if (notStarted !== undefined) return notStarted;
  const message = o.message;
  if (message !== undefined && message !== 'invalid' && message.type === 'result') {
    return fromResult(o, tool, message.output);
  }
  if (o.memoryExceeded) {
    return {
      ok: false,
      kind: ErrorKind.OutOfMemory,
      limit: 'memory',
      message: `${tool} ran out of memory${detail(o)}`,
    };
  }
  if (message !== undefined && message !== 'invalid') {
    return fromWorkerError(o, message.phase, toErrorLink(message.error));
  }
  if (message === 'invalid') {
    return fail(
      ErrorKind.InvalidOutput,
      `${tool} wrote something on the result channel that is not a result message`,
    );
  }
  // Killed by toolcage before it reported anything: toolcage's failure, not the tool's crash.
  if (o.lost !== undefined) return fail(ErrorKind.Internal, `${tool} was lost: ${o.lost}`);
  return fromExit(o);
}

// The verdict of each reason toolcage recorded for ending the run itself.
const BY_REASON: Readonly<Record<EndReason, (o: Observation, tool: string) => Verdict>> = {
  timeout: (o, tool) =>
    fail(
      ErrorKind.Timeout,
      `${tool} timed out after ${o.timeoutMs} ms${o.processesExceeded ? ' (its process limit had refused forks)' : ''}`,
    ),
  cancelled: (_o, tool) => fail(ErrorKind.Cancelled, `${tool} was cancelled by the caller`),
  closed: (_o, tool) => fail(ErrorKind.Cancelled, `${tool} was cancelled: the runtime was closed`),
  output_limit: (o, tool) => ({
    ok: false,
    kind: ErrorKind.OutputLimit,
    limit: 'output',
    message: `${tool} produced more than ${o.maxOutputBytes} bytes of output (killed after ${o.resultBytes} bytes)`,
  }),
  cpu_limit: (_o, tool) => ({
    ok: false,
    kind: ErrorKind.ResourceLimit,
    limit: 'cpu',
    message: `${tool} hit the CPU time limit: its processes together used more than its cpuSeconds`,
  }),
};

// The process never started: a spawn error, or the launcher's report that the sandbox failed.
function fromStartFailure(o: Observation, tool: string): Verdict | undefined {
  if (o.spawnError !== undefined) {
    return fail(ErrorKind.SpawnFailed, `${tool} could not be started: ${o.spawnError.message}`);
  }
  if (o.sandboxFailed !== undefined) {
    return fail(
      ErrorKind.SpawnFailed,
      `${tool} could not be started: the sandbox failed (${o.sandboxFailed})${detail(o)}`,
    );
  }
  return undefined;
}

// A result message: success, unless the result itself is over the output cap.
function fromResult(o: Observation, tool: string, output: unknown): Verdict {
  // The stream check allows the frame's bytes; the result itself must fit the cap exactly.
  const outputBytes = o.resultBytes - RESULT_FRAME_BYTES;
  if (outputBytes > o.maxOutputBytes) {
    return {
      ok: false,
      kind: ErrorKind.OutputLimit,
      limit: 'output',
      message: `${tool} produced ${outputBytes} bytes of output, more than the limit of ${o.maxOutputBytes}`,
    };
  }
  return { ok: true, output };
}

/**
 * The worker reported a failure: load, export, call, output or protocol. The phase is written
 * by the tool's process like the rest of the message, so none of them makes a system kind: a
 * `protocol` failure (the worker could not read its request, or the tool wrote such a message
 * itself) and a phase nobody knows are protocol violations, `invalid_output`.
 */
function fromWorkerError(o: Observation, phase: unknown, error: ErrorLink): Verdict {
  const tool = `Tool \`${o.toolId}\``;
  switch (phase) {
    case 'export':
      return fail(ErrorKind.ToolNotFound, `${tool}: ${error.message}`);
    case 'output':
      return fail(
        ErrorKind.InvalidOutput,
        `${tool} returned a result that is not JSON: ${error.message}`,
      );
    case 'protocol':
      return fail(
        ErrorKind.InvalidOutput,
        `${tool}: a protocol failure was reported on the result channel: ${error.message}`,
      );
    case 'load':
    case 'call':
      break;
    default:
      return fail(
        ErrorKind.InvalidOutput,
        `${tool}: the result channel carried an error of an unknown phase \`${String(phase).slice(0, 40)}\``,
      );
  }
  const toolError = thrown(error);
  if (o.denial !== undefined) {
    return {
      ok: false,
      kind: ErrorKind.PermissionDenied,
      message: denialMessage(o.toolId, o.denial),
      toolError,
      denial: o.denial,
    };
  }
  const limitVerdict = limitHit(o, `: ${error.message}`);
  if (limitVerdict !== undefined) return { ...limitVerdict, toolError };
  const verb = phase === 'load' ? 'failed to load' : 'threw';
  return {
    ok: false,
    kind: ErrorKind.ToolError,
    message: `${tool} ${verb}: ${error.name}: ${error.message}`,
    toolError,
  };
}

/**
 * No message at all: explain the exit. bwrap's and the launch prologue's failure lines on stderr
 * (`bwrap: …`, `toolcage-sandbox: …`) can be printed by any tool, so they never make
 * `spawn_failed` alone: only the launcher's report that the sandbox never started does (see
 * classify). Without it such a line is quoted in the `crashed` message, where a reader sees it;
 * and Bun's `RangeError: Out of memory` on stderr is no `out_of_memory` either.
 */
function fromExit(o: Observation): Verdict {
  const tool = `Tool \`${o.toolId}\``;
  const how =
    o.signal !== null ? `was killed by ${o.signal}` : `exited with code ${String(o.exitCode)}`;
  const limitVerdict = limitHit(o, ` and ${how}`);
  if (limitVerdict !== undefined) return limitVerdict;
  if (o.exitCode === 0) {
    return fail(ErrorKind.InvalidOutput, `${tool} exited without writing a result`);
  }
  return fail(ErrorKind.Crashed, `${tool} crashed: it ${how} without a result${detail(o)}`);
}

// A resource limit (rlimit hint, or the pids cgroup refusing forks), or undefined.
function limitHit(o: Observation, tail: string): Extract<Verdict, { ok: false }> | undefined {
  if (o.limitHit === undefined && !o.processesExceeded) return undefined;
  const limit = o.limitHit ?? 'processes';
  const detail = o.limitDetail === undefined ? '' : ` (${o.limitDetail})`;
  return {
    ok: false,
    kind: ErrorKind.ResourceLimit,
    limit,
    message: `Tool \`${o.toolId}\` hit the ${limitLabel(limit)} limit${detail}${tail}`,
  };
}

function fail(kind: ErrorKind, message: string): Verdict {
  return { ok: false, kind, message };
}

function thrown(error: ErrorLink): ToolThrownError {
  return {
    name: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(error.code === undefined ? {} : { code: error.code }),
  };
}

function limitLabel(limit: LimitName): string {
  switch (limit) {
    case 'cpu':
      return 'CPU time';
    case 'file_size':
      return 'file size';
    case 'disk':
      return 'scratch space';
    case 'open_files':
      return 'open files';
    case 'processes':
      return 'process count';
    case 'memory':
      return 'memory';
    case 'output':
      return 'output size';
    case 'queue':
      return 'queue';
    case 'network':
      return 'network';
    default:
      return limit satisfies never;
  }
}

// The last line of stderr, to say something useful about a crash.
function detail(o: Observation): string {
  const lines = o.stderrTail.trim().split('\n');
  const last = lines[lines.length - 1]?.trim();
  return last === undefined || last === '' ? '' : `; stderr: ${last.slice(0, 300)}`;
}
