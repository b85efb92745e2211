import { randomUUID } from 'node:crypto';
import { ErrorKind } from '../errors/kinds.js';
import { isToolExecutionError, ToolExecutionError } from '../errors/tool-execution-error.js';
import type { EndReason } from './classify.js';
import type { Background } from '../sandbox/background.js';
import type { Sandbox } from '../sandbox/types.js';
import { buildToolEnv } from './build-env.js';
import type { ExecutionObserver } from './observe.js';
import { withAbortReason } from './abort-reason.js';
import type { ExecuteRequest, ExecuteResult, NormalizedOptions } from './runtime-options.js';
import { QueueRejection, type SlotQueue } from './queue.js';
import type { ToolResolver } from './resolve-tool.js';
import { findNonJson } from './validate-json.js';
import { effectiveProfile } from './effective.js';
import { permissionsToFlags } from '../sandbox/flags.js';
import type { Launched, ProcessPool } from './pool.js';
import { drive, type Call, type Prepared, type RunOutcome } from './drive-run.js';
import { settle } from './settle.js';
import type { ToolBundler } from '../bundling/bundler.js';

/** What every execution of one runtime shares. */
export interface ExecutionEnvironment {
  readonly options: NormalizedOptions;
  readonly tools: ToolResolver;
  readonly sandbox: Sandbox;
  readonly queue: SlotQueue;
  readonly observer: ExecutionObserver;
  readonly pool: ProcessPool;
  /** Each call's module: its bundle (built on demand, cached) or its masked directory. */
  readonly bundler: ToolBundler;
  /** Aborts when the runtime closes. */
  readonly closing: AbortSignal;
  /**
   * The close handlers of the executions in flight. One set instead of one 'abort' listener per
   * execution on `closing`: thousands of queued executions made listeners pile up there
   * (MaxListenersExceededWarning, and each add got slower as the list grew).
   */
  readonly onClose: Set<() => void>;
  /** `bun --version` of the runtime's Bun, asked at the first execution. */
  readonly bunVersion: () => Promise<string>;
  /** Paths every tool can read besides its grants: Bun and the worker's files. */
  readonly runtimeFiles: readonly string[];
  /** The teardowns of runs that settled on their result (drive-run.ts). */
  readonly teardowns: Background;
}

/**
 * One execution from call to settlement: validate, wait for a slot under the deadline, run one
 * fresh process, classify, record telemetry. The deadline runs from the call, so time spent
 * queued counts. Every timer and listener hangs on one AbortController, aborted in `finally`.
 */
export async function execute(
  env: ExecutionEnvironment,
  request: ExecuteRequest,
): Promise<ExecuteResult> {
  const startedAt = performance.now();
  const executionId = randomUUID();
  const elapsed = (): number => Math.round(performance.now() - startedAt);
  const prepared = prepareOrRefuse(env, request, executionId, elapsed);
  const { tool, timeoutMs } = prepared;
  // Only a span shows these: not computed (nor Bun asked) for a runtime without telemetry.
  const span = env.observer.start({
    toolId: tool.toolId,
    timeoutMs,
    bunVersion: env.options.telemetry ? await env.bunVersion() : '',
    permissions: env.options.telemetry ? permissionsToFlags(prepared.permissions) : [],
  });
  const ending = watchForEnd(env, request.signal, timeoutMs);
  let releaseSlot: (() => void) | undefined;
  // The failure the span (and the metrics) already hold: an error that carries the call's
  // execution id is not necessarily recorded (a refused launch or build carries it too).
  let recorded: ToolExecutionError | undefined;
  try {
    releaseSlot = await waitForSlot(env.queue, ending.signal, tool.toolId, timeoutMs);
    const outcome = await runOnce(env, prepared, {
      executionId,
      signal: ending.signal,
      onLog: request.onLog,
      span,
      deadlineAt: startedAt + timeoutMs,
    });
    const settled = settle(outcome, tool.toolId, executionId, elapsed(), span);
    if ('result' in settled) return settled.result;
    recorded = settled.failure;
    throw withAbortReason(settled.failure, ending.signal, request.signal);
  } catch (error) {
    if (error === recorded) throw error;
    const failure = asToolError(error, tool.toolId, executionId);
    failure.durationMs = elapsed();
    span.fail(failure, { durationMs: failure.durationMs, exit: undefined, outputBytes: 0 });
    throw withAbortReason(failure, ending.signal, request.signal);
  } finally {
    releaseSlot?.();
    ending.stop();
  }
}

// Validation and resolution (see prepare); a refusal is counted and thrown. Refusals are
// labelled with a registered id or `(rejected)`: never a raw path or an id an agent made up,
// which would leak into metric labels and make their cardinality unbounded.
function prepareOrRefuse(
  env: ExecutionEnvironment,
  request: ExecuteRequest,
  executionId: string,
  elapsed: () => number,
): Prepared {
  try {
    return prepare(env, request);
  } catch (error) {
    const label =
      request.toolId !== undefined && env.options.tools.has(request.toolId)
        ? request.toolId
        : '(rejected)';
    const failure = asToolError(error, label, executionId);
    failure.durationMs = elapsed();
    env.observer.rejected(label, failure);
    throw failure;
  }
}

/** What ends an execution early, as one signal aborted with the first {@link EndReason}. */
interface Ending {
  readonly signal: AbortSignal;
  /** Clears the deadline and the listeners, and aborts the signal if nothing did. */
  stop(): void;
}

// The deadline, the caller's signal and the runtime's close, on one AbortController.
function watchForEnd(
  env: ExecutionEnvironment,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
): Ending {
  const controller = new AbortController();
  const end = (reason: EndReason): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const deadline = setTimeout(() => end('timeout'), timeoutMs);
  const onCancel = (): void => end('cancelled');
  const onClose = (): void => end('closed');
  callerSignal?.addEventListener('abort', onCancel, { once: true });
  env.onClose.add(onClose);
  if (callerSignal?.aborted === true) end('cancelled');
  if (env.closing.aborted) end('closed');
  return {
    signal: controller.signal,
    stop() {
      clearTimeout(deadline);
      callerSignal?.removeEventListener('abort', onCancel);
      env.onClose.delete(onClose);
      if (!controller.signal.aborted) controller.abort('closed');
    },
  };
}

// A slot of the queue, or the failure that says why none came (full, deadline, cancel, close).
async function waitForSlot(
  queue: SlotQueue,
  signal: AbortSignal,
  toolId: string,
  timeoutMs: number,
): Promise<() => void> {
  try {
    return await queue.acquire(signal);
  } catch (error) {
    throw queueFailure(error, toolId, signal.reason as EndReason | undefined, timeoutMs);
  }
}

// Validation and resolution; throws `invalid_request` / `tool_not_found` before anything starts.
function prepare(env: ExecutionEnvironment, request: ExecuteRequest): Prepared {
  const { options } = env;
  const tool = env.tools.resolve(request);
  const invalid = (message: string): ToolExecutionError =>
    new ToolExecutionError({
      kind: ErrorKind.InvalidRequest,
      toolId: tool.toolId,
      message: `Invalid request for tool \`${tool.toolId}\`: ${message}`,
    });
  const toolTimeout = tool.definition?.timeoutMs ?? options.defaultTimeoutMs;
  const timeoutMs = Math.min(request.timeoutMs ?? toolTimeout, toolTimeout);
  const input = request.input === undefined ? null : request.input;
  const config = request.config === undefined ? {} : request.config;
  const inputProblem = findNonJson(input, 'input');
  if (inputProblem !== undefined) throw invalid(`the input is not JSON: ${inputProblem}`);
  const configProblem = findNonJson(config, 'config');
  if (configProblem !== undefined) throw invalid(`the config is not JSON: ${configProblem}`);
  const { permissions, limits } = effectiveProfile(options, tool, request);
  const built = buildToolEnv(request.env, permissions.env, process.env);
  if ('problem' in built) throw invalid(built.problem);
  return { tool, timeoutMs, permissions, limits, env: built.env, input, config };
}

// Launches one process (fresh or prewarmed) and drives it to its end.
async function runOnce(
  env: ExecutionEnvironment,
  prepared: Prepared,
  call: Call,
): Promise<RunOutcome> {
  const { tool } = prepared;
  const { executionId, signal } = call;
  const module = await env.bundler.module(tool, prepared.permissions, {
    signal,
    timeoutMs: prepared.timeoutMs,
    executionId,
  });
  let launched: Launched;
  try {
    launched = await env.pool.launch(executionId, {
      toolPath: module.modulePath,
      view: module.view,
      masked: module.masked,
      permissions: prepared.permissions,
      limits: prepared.limits,
      preload: tool.definition?.preload === true,
      carriesWorker: module.carriesWorker,
    });
  } catch (error) {
    // The sandbox's refusal (a SandboxRefusal: what it cannot enforce, and why) or a failed
    // setup: the sandbox never makes the caller's error; it is made here, with the call's ids.
    throw asToolError(error, tool.toolId, executionId, ErrorKind.SpawnFailed);
  }
  const host = {
    killGraceMs: env.options.killGraceMs,
    runtimeFiles: env.runtimeFiles,
    closing: env.closing,
    onClose: env.onClose,
    background: env.teardowns,
  };
  return drive(host, prepared, module, launched, call);
}

function queueFailure(
  error: unknown,
  toolId: string,
  reason: EndReason | undefined,
  timeoutMs: number,
): ToolExecutionError {
  if (error instanceof QueueRejection && error.reason === 'full') {
    return new ToolExecutionError({
      kind: ErrorKind.ResourceLimit,
      limit: 'queue',
      toolId,
      message: `Tool \`${toolId}\` was rejected: ${error.message}`,
    });
  }
  switch (reason) {
    case 'timeout':
      return new ToolExecutionError({
        kind: ErrorKind.Timeout,
        toolId,
        message: `Tool \`${toolId}\` timed out after ${timeoutMs} ms while waiting for a free slot`,
      });
    case 'cancelled':
      return new ToolExecutionError({
        kind: ErrorKind.Cancelled,
        toolId,
        message: `Tool \`${toolId}\` was cancelled by the caller before it started`,
      });
    case 'closed':
      return new ToolExecutionError({
        kind: ErrorKind.Cancelled,
        toolId,
        message: `Tool \`${toolId}\` was cancelled: the runtime was closed`,
      });
    default:
      return asToolError(error, toolId, undefined);
  }
}

function asToolError(
  error: unknown,
  toolId: string,
  executionId: string | undefined,
  kind: ErrorKind = ErrorKind.Internal,
): ToolExecutionError {
  if (isToolExecutionError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ToolExecutionError({
    kind,
    toolId,
    message:
      kind === ErrorKind.SpawnFailed
        ? `Tool \`${toolId}\` could not be started: ${message}`
        : `Tool \`${toolId}\`: internal error: ${message}`,
    cause: error,
    ...(executionId === undefined ? {} : { executionId }),
  });
}
