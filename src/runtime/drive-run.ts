/**
 * One call's run, from its launched process to its outcome: the request (with the call's
 * environment and trace context), the process driven to its result (run-process.ts), and what
 * comes after — the plan's disposal once the run is over, or, for a run that settled on its
 * result, once its teardown is (in the background, which `runtime.close()` waits for).
 */
import { dirname } from 'node:path';
import { isInside } from '../sandbox/permissions.js';
import { PRIVATE_TMP } from '../sandbox/sandbox-view.js';
import type { ToolBundler } from '../bundling/bundler.js';
import type { NetworkActivity } from '../network/ledger.js';
import { withEgressProxy } from '../network/in-sandbox.js';
import type { Background } from '../sandbox/background.js';
import { explainThroughSandbox } from '../sandbox/classify-hints.js';
import type {
  Enforcement,
  LaunchPlan,
  ResolvedLimits,
  ResolvedPermissions,
} from '../sandbox/types.js';
import type { ObservedExecution } from './observe.js';
import type { ExecuteRequest } from './runtime-options.js';
import type { Launched } from './pool.js';
import type { ProcessEnd } from './process-end.js';
import type { ResolvedTool } from './resolve-tool.js';
import { runProcess, type ProcessOutcome } from './run-process.js';
import type { WorkerRequest } from './worker/protocol.js';

/** Everything checked and resolved about a request before it waits for a slot. */
export interface Prepared {
  readonly tool: ResolvedTool;
  readonly timeoutMs: number;
  readonly permissions: ResolvedPermissions;
  readonly limits: ResolvedLimits;
  readonly env: Record<string, string>;
  readonly input: unknown;
  readonly config: unknown;
}

/** What one process run produced, what the sandbox enforced on it, and what its proxy saw. */
export type RunOutcome = ProcessOutcome & {
  readonly enforcement: Enforcement;
  readonly network: NetworkActivity | undefined;
};

/** What one call brings to its run, besides its prepared request. */
export interface Call {
  readonly executionId: string;
  /** Aborted with the EndReason when the run must end (see watchForEnd). */
  readonly signal: AbortSignal;
  readonly onLog: ExecuteRequest['onLog'];
  readonly span: ObservedExecution;
  /** The deadline, as a `performance.now()` time: nothing of the run outlives it. */
  readonly deadlineAt: number;
}

/** A call's module, as the bundler gives it. */
export type ToolModule = Awaited<ReturnType<ToolBundler['module']>>;

/** What a run needs of its runtime. */
export interface RunHost {
  readonly killGraceMs: number;
  /** Paths every tool can read besides its grants: Bun and the worker's files. */
  readonly runtimeFiles: readonly string[];
  /** Aborts when the runtime closes, which then runs each of `onClose`. */
  readonly closing: AbortSignal;
  readonly onClose: Set<() => void>;
  /** Where a run that settled on its result leaves its teardown; the runtime's close awaits it. */
  readonly background: Background;
}

// Sends the call's request to its launched process and drives the run to its result. A run
// that settles on its result leaves its teardown (the exit, what is left, the streams) and its
// plan's disposal to the background, which runtime.close() waits for.
export async function drive(
  host: RunHost,
  prepared: Prepared,
  module: ToolModule,
  launched: Launched,
  call: Call,
): Promise<RunOutcome> {
  const { tool } = prepared;
  const { plan, child } = launched;
  // Read now, not before the launch: it starts the span (see ObservedExecution).
  const { traceparent } = call.span;
  const callEnv = Array.isArray(prepared.permissions.net)
    ? withEgressProxy(prepared.env)
    : prepared.env;
  const toolEnv = traceparent === undefined ? callEnv : { ...callEnv, TRACEPARENT: traceparent };
  const request: WorkerRequest = {
    executionId: call.executionId,
    toolId: tool.toolId,
    toolPath: module.modulePath,
    exportName: tool.exportName,
    env: toolEnv,
    input: prepared.input,
    config: prepared.config,
  };
  let teardown: Promise<ProcessEnd> | undefined;
  try {
    const outcome = await runProcess(child, plan, {
      toolId: tool.toolId,
      request,
      timeoutMs: prepared.timeoutMs,
      maxOutputBytes: prepared.limits.maxOutputBytes,
      maxLogBytes: prepared.limits.maxLogBytes,
      killGraceMs: host.killGraceMs,
      signal: call.signal,
      onLog: call.onLog,
      settleOnResult: {
        deadlineAt: call.deadlineAt,
        hurry: { signal: host.closing, handlers: host.onClose },
      },
      explain: (message, end, report) =>
        explainThroughSandbox(message, end, report, prepared.permissions, plan.enforcement, {
          visible: [...module.visible, ...host.runtimeFiles],
          masked: module.masked.map((entry) => entry.path),
          covered: coveredUnderTmp(module.modulePath, module.view.kind),
          limits: prepared.limits,
        }),
    });
    teardown = outcome.teardown;
    return { ...outcome, enforcement: plan.enforcement, network: plan.networkActivity?.() };
  } finally {
    if (teardown === undefined) await plan.dispose();
    else host.background.add(afterTeardown(teardown, call.span, plan));
  }
}

// The process's real exit goes to the metrics once it comes; then the plan is disposed of.
async function afterTeardown(
  teardown: Promise<ProcessEnd>,
  span: ObservedExecution,
  plan: LaunchPlan,
): Promise<void> {
  try {
    span.exited(await teardown);
  } catch {
    // A metrics failure must not keep the plan alive.
  } finally {
    await plan.dispose();
  }
}

// A bundle's directory under /tmp is covered by a read-only tmpfs of its own (bwrap-args.ts).
function coveredUnderTmp(modulePath: string, kind: string): string[] {
  const dir = dirname(modulePath);
  return kind === 'bundle' && dir !== PRIVATE_TMP && isInside(dir, PRIVATE_TMP) ? [dir] : [];
}
