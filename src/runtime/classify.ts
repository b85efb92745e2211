/**
 * Classification of a finished process: from everything toolcage observed of one run to its
 * verdict (success, or an error kind with its message). Beside run-process.ts, which gathers the
 * observation; the kinds and the error class it names live in src/errors.
 */
import { ErrorKind } from '../errors/kinds.js';
import type { LimitName, ToolThrownError } from '../errors/tool-execution-error.js';
import { RESULT_FRAME_BYTES, type SerializedError, type WorkerMessage } from './worker/protocol.js';

/** Why toolcage itself ended a run, recorded at the moment it decided (first reason wins). */
export type EndReason = 'timeout' | 'cancelled' | 'closed' | 'output_limit';

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
  readonly memoryExceeded: boolean;
  readonly processesExceeded: boolean;
  /** The denied operation, when the sandbox explains the tool's error ("read of /etc/passwd"). */
  readonly denied: string | undefined;
  /** The grant that would allow it ("grant it with --allow-read /etc/passwd …"), if one would. */
  readonly grantHint: string | undefined;
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
      /** What the sandbox denied, for `permission_denied` ("read of /etc/passwd"). */
      readonly denied?: string;
    };

const OUT_OF_MEMORY = /RangeError: Out of memory|JavaScript heap out of memory|Out of memory/;
// bwrap's own set-up errors, and the launch prologue's (src/sandbox/launch-command.ts), which
// exits 125 with this prefix when it cannot join the cgroup or set an rlimit.
const BWRAP_FAILURE = /^(bwrap: |toolcage-sandbox: )/m;

/**
 * Decides the outcome of one run from what was observed. Pure: toolcage's own recorded reason
 * first, then the result message, the limits, the exit signal and code.
 */
export function classify(o: Observation): Verdict {
  const tool = `Tool \`${o.toolId}\``;
  switch (o.reason) {
    case 'timeout':
      return fail(
        ErrorKind.Timeout,
        `${tool} timed out after ${o.timeoutMs} ms${o.processesExceeded ? ' (its process limit had refused forks)' : ''}`,
      );
    case 'cancelled':
      return fail(ErrorKind.Cancelled, `${tool} was cancelled by the caller`);
    case 'closed':
      return fail(ErrorKind.Cancelled, `${tool} was cancelled: the runtime was closed`);
    case 'output_limit':
      return {
        ok: false,
        kind: ErrorKind.OutputLimit,
        limit: 'output',
        message: `${tool} produced more than ${o.maxOutputBytes} bytes of output (killed after ${o.resultBytes} bytes)`,
      };
    case undefined:
      break;
    default:
      o.reason satisfies never;
  }
  if (o.spawnError !== undefined) {
    return fail(ErrorKind.SpawnFailed, `${tool} could not be started: ${o.spawnError.message}`);
  }
  const message = o.message;
  if (message !== undefined && message !== 'invalid' && message.type === 'result') {
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
    return { ok: true, output: message.output };
  }
  if (o.memoryExceeded) {
    return {
      ok: false,
      kind: ErrorKind.OutOfMemory,
      limit: 'memory',
      message: `${tool} ran out of memory${detail(o)}`,
    };
  }
  if (message !== undefined && message !== 'invalid')
    return fromWorkerError(o, message.phase, message.error);
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

// The worker reported a failure: load, export, call, output or protocol.
function fromWorkerError(o: Observation, phase: string, error: SerializedError): Verdict {
  const tool = `Tool \`${o.toolId}\``;
  const toolError = thrown(error);
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
        ErrorKind.Internal,
        `${tool}: the worker could not read its request: ${error.message}`,
      );
    case 'load':
    case 'call':
      break;
    default:
      return fail(ErrorKind.Internal, `${tool}: the worker reported an unknown phase \`${phase}\``);
  }
  if (chainMatches(error, (e) => OUT_OF_MEMORY.test(`${e.name}: ${e.message}`))) {
    return {
      ok: false,
      kind: ErrorKind.OutOfMemory,
      limit: 'memory',
      message: `${tool} ran out of memory: ${error.message}`,
      toolError,
    };
  }
  if (o.denied !== undefined) {
    return {
      ok: false,
      kind: ErrorKind.PermissionDenied,
      message: `${tool} was denied by the sandbox: ${o.denied}${o.grantHint === undefined ? '' : `; ${o.grantHint}`}`,
      toolError,
      denied: o.denied,
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

// No message at all: explain the exit.
function fromExit(o: Observation): Verdict {
  const tool = `Tool \`${o.toolId}\``;
  const how =
    o.signal !== null ? `was killed by ${o.signal}` : `exited with code ${String(o.exitCode)}`;
  if (o.exitCode !== null && o.exitCode !== 0 && BWRAP_FAILURE.test(o.stderrTail)) {
    return fail(
      ErrorKind.SpawnFailed,
      `${tool} could not be started: the sandbox failed: ${firstLine(o.stderrTail, BWRAP_FAILURE)}`,
    );
  }
  if (OUT_OF_MEMORY.test(o.stderrTail)) {
    return {
      ok: false,
      kind: ErrorKind.OutOfMemory,
      limit: 'memory',
      message: `${tool} ran out of memory and ${how}`,
    };
  }
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

function thrown(error: SerializedError): ToolThrownError {
  return {
    name: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(error.code === undefined ? {} : { code: error.code }),
  };
}

function chainMatches(error: SerializedError, test: (e: SerializedError) => boolean): boolean {
  for (let e: SerializedError | undefined = error; e !== undefined; e = e.cause)
    if (test(e)) return true;
  return false;
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

function firstLine(text: string, pattern: RegExp): string {
  const line = text.split('\n').find((l) => pattern.test(l)) ?? text;
  return line.trim().slice(0, 300);
}
