import { randomUUID } from 'node:crypto';
import { ErrorKind } from '../errors/kinds.js';
import { isToolExecutionError, ToolExecutionError } from '../errors/tool-execution-error.js';
import type { EndReason } from '../errors/classify.js';
import type { ResolvedLimits, ResolvedPermissions, Sandbox } from '../sandbox/types.js';
import { buildToolEnv } from './build-env.js';
import type { ExecutionObserver, ObservedExecution } from './observe.js';
import type { ExecuteRequest, ExecuteResult, NormalizedOptions } from './options.js';
import { QueueRejection, type SlotQueue } from './queue.js';
import type { ResolvedTool, ToolResolver } from './resolve-tool.js';
import { runProcess } from './run-process.js';
import { findNonJson } from './validate-json.js';
import type { WorkerRequest } from './worker/protocol.js';
import { effectiveProfile, explainFailure } from './effective.js';
import { withEgressProxy } from '../network/in-sandbox.js';
import { permissionsToFlags } from '../sandbox/flags.js';
import type { Launched, ProcessPool } from './pool.js';
import type { ToolBundler } from '../build/bundler.js';

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
  readonly bunVersion: string;
  /** Paths every tool can read besides its grants: Bun and the worker's files. */
  readonly runtimeFiles: readonly string[];
}

/** Everything checked and resolved about a request before it waits for a slot. */
interface Prepared {
  readonly tool: ResolvedTool;
  readonly timeoutMs: number;
  readonly permissions: ResolvedPermissions;
  readonly limits: ResolvedLimits;
  readonly env: Record<string, string>;
  readonly input: unknown;
  readonly config: unknown;
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
  // Refusals are labelled with a registered id or `(rejected)`: never a raw path or an id an
  // agent made up, which would leak into metric labels and make their cardinality unbounded.
  const label =
    request.toolId !== undefined && env.options.tools.has(request.toolId)
      ? request.toolId
      : '(rejected)';

  let prepared: Prepared;
  try {
    prepared = prepare(env, request);
  } catch (error) {
    const failure = asToolError(error, label, executionId);
    failure.durationMs = elapsed();
    env.observer.rejected(label, failure);
    throw failure;
  }
  const { tool, timeoutMs } = prepared;
  const span = env.observer.start({
    toolId: tool.toolId,
    timeoutMs,
    bunVersion: env.bunVersion,
    // Only a span shows them: not computed for a runtime without telemetry.
    permissions: env.options.telemetry ? permissionsToFlags(prepared.permissions) : [],
  });

  const controller = new AbortController();
  const end = (reason: EndReason): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const deadline = setTimeout(() => end('timeout'), timeoutMs);
  const onCancel = (): void => end('cancelled');
  const onClose = (): void => end('closed');
  request.signal?.addEventListener('abort', onCancel, { once: true });
  env.onClose.add(onClose);
  if (request.signal?.aborted === true) end('cancelled');
  if (env.closing.aborted) end('closed');

  let release: (() => void) | undefined;
  // Set once the span (and the metrics) hold this call's failure: an error that carries the
  // call's execution id is not necessarily recorded (a refused launch or build carries it too).
  let recorded = false;
  try {
    try {
      release = await env.queue.acquire(controller.signal);
    } catch (error) {
      throw queueFailure(
        error,
        tool.toolId,
        controller.signal.reason as EndReason | undefined,
        timeoutMs,
      );
    }
    const outcome = await runOnce(
      env,
      prepared,
      executionId,
      controller.signal,
      request.onLog,
      span,
    );
    const durationMs = elapsed();
    if (!outcome.verdict.ok) {
      const verdict = outcome.verdict;
      const failure = new ToolExecutionError({
        kind: verdict.kind,
        toolId: tool.toolId,
        message: verdict.message,
        ...(outcome.end.code === null ? {} : { exitCode: outcome.end.code }),
        ...(outcome.end.signal === null ? {} : { signal: outcome.end.signal }),
        durationMs,
        logs: outcome.logs,
        ...(verdict.toolError === undefined ? {} : { toolError: verdict.toolError }),
        ...(verdict.limit === undefined ? {} : { limit: verdict.limit }),
        executionId,
      });
      span.fail(failure, {
        durationMs,
        exit: outcome.end,
        outputBytes: outcome.outputBytes,
        network: outcome.network,
        denied: verdict.denied,
      });
      recorded = true;
      throw failure;
    }
    const result: ExecuteResult = {
      output: outcome.verdict.output,
      durationMs,
      exitCode: outcome.end.code ?? 0,
      outputBytes: outcome.outputBytes,
      logs: outcome.logs,
      enforcement: outcome.enforcement,
      executionId,
    };
    span.succeed({
      durationMs,
      exit: outcome.end,
      outputBytes: outcome.outputBytes,
      exitCode: result.exitCode,
      network: outcome.network,
    });
    return result;
  } catch (error) {
    if (recorded) throw error;
    const failure = asToolError(error, tool.toolId, executionId);
    failure.durationMs = elapsed();
    span.fail(failure, { durationMs: failure.durationMs, exit: undefined, outputBytes: 0 });
    throw failure;
  } finally {
    clearTimeout(deadline);
    request.signal?.removeEventListener('abort', onCancel);
    env.onClose.delete(onClose);
    release?.();
    if (!controller.signal.aborted) controller.abort('closed');
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
  executionId: string,
  signal: AbortSignal,
  onLog: ExecuteRequest['onLog'],
  span: ObservedExecution,
) {
  const { tool } = prepared;
  const module = await env.bundler.module(tool, prepared.permissions, {
    signal,
    timeoutMs: prepared.timeoutMs,
    executionId,
  });
  let launched: Launched;
  try {
    launched = await env.pool.launch({
      toolPath: module.modulePath,
      view: module.view,
      permissions: prepared.permissions,
      limits: prepared.limits,
      preload: tool.definition?.preload === true,
    });
  } catch (error) {
    // The sandbox's refusal (a SandboxRefusal: what it cannot enforce, and why) or a failed
    // setup: the sandbox never makes the caller's error; it is made here, with the call's ids.
    throw asToolError(error, tool.toolId, executionId, ErrorKind.SpawnFailed);
  }
  const { plan, child } = launched;
  // Read now, not before the launch: it starts the span (see ObservedExecution).
  const { traceparent } = span;
  const callEnv = Array.isArray(prepared.permissions.net)
    ? withEgressProxy(prepared.env)
    : prepared.env;
  const toolEnv = traceparent === undefined ? callEnv : { ...callEnv, TRACEPARENT: traceparent };
  const request: WorkerRequest = {
    executionId,
    toolId: tool.toolId,
    toolPath: module.modulePath,
    exportName: tool.exportName,
    env: toolEnv,
    input: prepared.input,
    config: prepared.config,
  };
  try {
    const outcome = await runProcess(child, plan, {
      toolId: tool.toolId,
      request,
      timeoutMs: prepared.timeoutMs,
      maxOutputBytes: prepared.limits.maxOutputBytes,
      maxLogBytes: prepared.limits.maxLogBytes,
      killGraceMs: env.options.killGraceMs,
      signal,
      onLog,
      explain: (message, end, report) =>
        explainFailure(
          message,
          end,
          report,
          prepared.permissions,
          prepared.limits,
          plan.enforcement,
          [...module.visible, ...env.runtimeFiles],
        ),
    });
    return { ...outcome, enforcement: plan.enforcement, network: plan.networkActivity?.() };
  } finally {
    await plan.dispose();
  }
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
