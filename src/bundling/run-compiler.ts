/**
 * Runs the build of one tool inside the sandbox, as any tool runs: the worker imports the
 * builder (bun-compiler.ts) and calls it with the build's input. The process sees the project
 * read-only, writes only into its output directory under the cache, has no network and may not
 * start processes; the deadline, the kill and the classification are the ones of a tool.
 */
import { randomUUID } from 'node:crypto';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import type { CapturedLogs } from '../errors/tool-execution-error.js';
import { explainThroughSandbox, type SandboxHints } from '../sandbox/classify-hints.js';
import { resolveLimits } from '../sandbox/limits.js';
import { resolvePermissions } from '../sandbox/permissions.js';
import type { LaunchPlan, ResolvedPermissions, Sandbox, SandboxMode } from '../sandbox/types.js';
import type { BuildInput, BuildReport } from './compiler-protocol.js';
import type { BuildView } from './project.js';

/** What running a build needs of the runtime. */
export interface BuildHost {
  readonly sandbox: Sandbox;
  readonly mode: SandboxMode;
  readonly bunPath: string;
  /** Bun's flags and the worker's entry (the builder is the module the worker imports). */
  readonly bunArgs: readonly string[];
  /** The worker's own module (run.ts), which every bundle carries (see bun-compiler.ts). */
  readonly worker: string;
  /** The worker's files and the builder, read-only. */
  readonly runtimeFiles: readonly string[];
  /** The builder module (bun-compiler.ts or its built .js). */
  readonly builder: string;
  /** Starts a planned process and drives it to its end, as the runtime runs a tool. */
  readonly run: CompilerRun;
}

/** How the runtime runs the compiler's process (runtime/bundler-host.ts). */
export type CompilerRun = (plan: LaunchPlan, process: CompilerProcess) => Promise<CompilerOutcome>;

/** The compiler's process, as the worker is asked to call it. */
export interface CompilerProcess {
  readonly executionId: string;
  readonly toolId: string;
  /** The module the worker imports and calls (`default`), with `input`. */
  readonly entry: string;
  readonly input: BuildInput;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly maxLogBytes: number;
  readonly signal: AbortSignal;
  readonly explain: (
    message: { readonly type: string; readonly error?: unknown } | 'invalid' | undefined,
    end: { readonly code: number | null; readonly signal: string | null },
    report: Parameters<typeof explainThroughSandbox>[2],
  ) => SandboxHints;
}

/** How it ended: its output, or the kind and message of its failure; and its logs. */
export interface CompilerOutcome {
  readonly verdict:
    | { readonly ok: true; readonly output: unknown }
    | { readonly ok: false; readonly kind: ErrorKind; readonly message: string };
  readonly logs: CapturedLogs;
}

/** A build's own deadline; the call waiting for it has its own. */
export const BUILD_TIMEOUT_MS = 120_000;

// A large graph takes memory to bundle (Bun's parser keeps every module's AST).
const BUILD_LIMITS = resolveLimits({
  memoryMb: 2048,
  maxFileSizeMb: 512,
  maxOutputBytes: 64 * 1024 * 1024,
});
// Same as tool processes (see runtime/pool.ts): no transpiler cache in a throwaway HOME.
const BUILD_ENV: Readonly<Record<string, string>> = { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0' };

/**
 * Builds `input.entry` sandboxed and returns the builder's report. Rejects with a
 * {@link ToolExecutionError}: `spawn_failed` when the sandbox cannot start, `tool_error` when the
 * builder itself failed (crashed, out of memory, past {@link BUILD_TIMEOUT_MS}), `cancelled`
 * when `signal` aborts (the runtime closed).
 */
export async function runSandboxedBuild(
  host: BuildHost,
  input: BuildInput,
  view: BuildView,
  toolId: string,
  signal: AbortSignal,
): Promise<BuildReport> {
  // Names the build's launch (its cgroups) apart from any call's: one build serves every call
  // that waits for it.
  const executionId = `build-${randomUUID()}`;
  const permissions = resolvePermissions({ read: view.read, write: [input.outdir], net: false });
  const plan = await prepareBuild(host, input.outdir, executionId, permissions, toolId);
  const stop = buildStop(signal);
  try {
    const outcome = await host
      .run(plan, {
        executionId,
        toolId,
        entry: host.builder,
        input,
        timeoutMs: BUILD_TIMEOUT_MS,
        maxOutputBytes: BUILD_LIMITS.maxOutputBytes,
        maxLogBytes: BUILD_LIMITS.maxLogBytes,
        signal: stop.signal,
        explain: (message, processEnd, report) =>
          explainThroughSandbox(message, processEnd, report, permissions, plan.enforcement, {
            visible: [...view.read, input.outdir, host.bunPath, ...host.runtimeFiles],
            limits: BUILD_LIMITS,
          }),
      })
      .catch((error: unknown) => {
        throw cannotStart(toolId, error);
      });
    return reportOf(outcome, toolId);
  } finally {
    stop.dispose();
    await plan.dispose();
  }
}

// Worded as a launch the sandbox refuses (runtime/execution.ts): what stops the build stops
// the tool.
function cannotStart(toolId: string, error: unknown): ToolExecutionError {
  return new ToolExecutionError({
    kind: ErrorKind.SpawnFailed,
    toolId,
    message: `Tool \`${toolId}\` could not be started: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}

// The sandbox's plan for the builder's process, which writes only into `outdir`.
async function prepareBuild(
  host: BuildHost,
  outdir: string,
  executionId: string,
  permissions: ResolvedPermissions,
  toolId: string,
): Promise<LaunchPlan> {
  try {
    host.sandbox.handOver?.(outdir);
    return await host.sandbox.prepare({
      launchId: executionId,
      bunPath: host.bunPath,
      bunArgs: host.bunArgs,
      toolPath: host.builder,
      view: { kind: 'bundle', file: host.builder, source: host.builder },
      runtimeFiles: host.runtimeFiles,
      env: BUILD_ENV,
      permissions,
      limits: BUILD_LIMITS,
      mode: host.mode,
    });
  } catch (error) {
    // A SandboxRefusal (what it cannot enforce here, and why) or a failed setup.
    throw cannotStart(toolId, error);
  }
}

// The signal that stops the build's process: its own deadline (`timeout`) or `signal` (`closed`).
function buildStop(signal: AbortSignal): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const end = (reason: 'timeout' | 'closed'): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const timer = setTimeout(() => end('timeout'), BUILD_TIMEOUT_MS);
  const onAbort = (): void => end('closed');
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) end('closed');
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

// The builder's report, or the error its process ended with.
function reportOf(outcome: CompilerOutcome, toolId: string): BuildReport {
  const { verdict } = outcome;
  if (verdict.ok) return verdict.output as BuildReport;
  if (verdict.kind === ErrorKind.Cancelled) {
    throw new ToolExecutionError({
      kind: ErrorKind.Cancelled,
      toolId,
      message: `Tool \`${toolId}\` was cancelled while being built: the runtime was closed`,
    });
  }
  throw new ToolExecutionError({
    kind: verdict.kind === ErrorKind.SpawnFailed ? ErrorKind.SpawnFailed : ErrorKind.ToolError,
    toolId,
    message: `Tool \`${toolId}\` could not be built: ${verdict.message}`,
    logs: outcome.logs,
  });
}
