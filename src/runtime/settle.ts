/**
 * A finished run made into what the caller gets: its result (with the denials toolcage saw, if
 * the tool handled them), or the ToolExecutionError its verdict names; the span ends either way.
 */
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import { proxyRefusal } from '../sandbox/denials.js';
import type { RunOutcome } from './drive-run.js';
import type { ObservedExecution } from './observe.js';
import type { ExecuteResult } from './runtime-options.js';

// A finished run: its result, or the ToolExecutionError its verdict names; the span ends either way.
export function settle(
  outcome: RunOutcome,
  toolId: string,
  executionId: string,
  durationMs: number,
  span: ObservedExecution,
): { readonly result: ExecuteResult } | { readonly failure: ToolExecutionError } {
  const { verdict, end, outputBytes, logs, network } = outcome;
  // Settled on its result: the real exit is recorded once it comes (see drive).
  const exit = outcome.teardown === undefined ? end : undefined;
  if (!verdict.ok) {
    const failure = new ToolExecutionError({
      kind: verdict.kind,
      toolId,
      message: verdict.message,
      ...(end.code === null ? {} : { exitCode: end.code }),
      ...(end.signal === null ? {} : { signal: end.signal }),
      durationMs,
      logs,
      ...(verdict.toolError === undefined ? {} : { toolError: verdict.toolError }),
      ...(verdict.limit === undefined ? {} : { limit: verdict.limit }),
      ...(verdict.denial === undefined ? {} : { denial: verdict.denial }),
      executionId,
    });
    span.fail(failure, { durationMs, exit, outputBytes, network, denial: verdict.denial });
    return { failure };
  }
  const result: ExecuteResult = {
    output: verdict.output,
    durationMs,
    exitCode: end.code ?? 0,
    outputBytes,
    logs,
    enforcement: outcome.enforcement,
    executionId,
    ...(network === undefined || network.denials.length === 0
      ? {}
      : { denials: network.denials.map(proxyRefusal) }),
  };
  span.succeed({ durationMs, exit, outputBytes, exitCode: result.exitCode, network });
  return { result };
}
