import { context, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { ToolMetrics, type Outcome } from '../metrics.js';
import type { NetworkActivity } from '../network/ledger.js';
import {
  startExecutionSpan,
  type ExecutionSpan,
  type ExecutionSpanAttributes,
} from '../tracing.js';
import type { Denial } from '../errors/denial.js';
import { ErrorKind } from '../errors/kinds.js';
import type { ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ProcessEnd } from './process-end.js';

/** How an execution ended, for the metrics. */
export interface EndFacts {
  readonly durationMs: number;
  /** The process's exit; undefined when no process ran. */
  readonly exit: ProcessEnd | undefined;
  readonly outputBytes: number;
  /** What the egress proxy saw, with an allow-list. */
  readonly network?: NetworkActivity | undefined;
  /** The denial a `permission_denied` failure names. */
  readonly denial?: Denial | undefined;
}

/**
 * The telemetry of one execution, from its dispatch. The span itself is started when it is
 * first needed — `traceparent`, read once the process is launching, or the end — with the
 * dispatch's time and context: starting a span is costly while the manager's caches are cold
 * between executions, and after the launch it overlaps Bun's start instead of delaying it
 * (docs/performance.md, "Starting the span lazily").
 */
export interface ObservedExecution {
  /** The span's W3C trace context for the tool's TRACEPARENT (starts the span). */
  readonly traceparent: string | undefined;
  succeed(facts: EndFacts & { readonly exitCode: number }): void;
  fail(error: ToolExecutionError, facts: EndFacts): void;
  /**
   * The process's exit, for a call that settled on its result before it came (the facts of its
   * settle had no `exit`): counted in `runtime_bun_process_exits_total` then.
   */
  exited(end: ProcessEnd): void;
}

/** Connects executions to toolcage's metrics and span; a no-op when telemetry is off. */
export interface ExecutionObserver {
  start(attributes: ExecutionSpanAttributes): ObservedExecution;
  /**
   * A request refused before it was dispatched (invalid_request, tool_not_found): counted, and
   * a span that fails at once (no `timeout_ms`, `bun_version`: never computed).
   */
  rejected(label: string, error: ToolExecutionError): void;
}

const SILENT: ObservedExecution = {
  traceparent: undefined,
  succeed: () => {},
  fail: () => {},
  exited: () => {},
};

/** The observer of a runtime. */
export function createObserver(options: {
  readonly enabled: boolean;
  readonly meterProvider: MeterProvider | undefined;
  readonly tracerProvider: TracerProvider | undefined;
}): ExecutionObserver {
  if (!options.enabled) return { start: () => SILENT, rejected: () => {} };
  const metrics = new ToolMetrics(
    options.meterProvider === undefined ? {} : { meterProvider: options.meterProvider },
  );
  const spanOptions =
    options.tracerProvider === undefined ? {} : { tracerProvider: options.tracerProvider };
  return {
    start(attributes) {
      const timing = { ...spanOptions, startTime: performance.now(), parent: context.active() };
      let started: ExecutionSpan | undefined;
      const span = (): ExecutionSpan => (started ??= startExecutionSpan(attributes, timing));
      return {
        get traceparent() {
          return span().traceparent;
        },
        succeed(facts) {
          recordDenials(facts, span, metrics, attributes.toolId);
          span().succeed({ exitCode: facts.exitCode, outputBytes: facts.outputBytes });
          metrics.recordExecution({
            toolId: attributes.toolId,
            outcome: 'success',
            durationMs: facts.durationMs,
            outputBytes: facts.outputBytes,
            ...exitOf(facts.exit),
          });
        },
        fail(error, facts) {
          recordDenials(facts, span, metrics, attributes.toolId);
          span().fail(error);
          const outcome: Outcome = error.kind === ErrorKind.Timeout ? 'timeout' : 'error';
          metrics.recordExecution({
            toolId: attributes.toolId,
            outcome,
            durationMs: facts.durationMs,
            outputBytes: facts.outputBytes,
            errorKind: error.kind,
            ...exitOf(facts.exit),
          });
        },
        exited(end) {
          const { exit } = exitOf(end);
          if (exit !== undefined) metrics.recordExit(exit);
        },
      };
    },
    rejected(label, error) {
      metrics.recordError(label, error.kind);
      // A refused call is still a call: its trace shows it, failed, under the caller's span
      // (called before the call's first await), with what was known of it.
      startExecutionSpan({ toolId: label, permissions: [] }, spanOptions).fail(error);
    },
  };
}

/**
 * The network decisions and denials of one execution: each refused connection is a span event
 * and a `net` denial; a `permission_denied` failure adds its own denial unless it is one of
 * those (the proxy's refusal the tool failed on is counted once).
 */
function recordDenials(
  facts: EndFacts,
  span: () => ExecutionSpan,
  metrics: ToolMetrics,
  toolId: string,
): void {
  const { network } = facts;
  const proxied = network?.deniedByPolicy ?? 0;
  if (network !== undefined) {
    if (network.denials.length > 0) span().recordNetworkDenials(network.denials);
    metrics.recordNetworkRequests(toolId, network.allowed, network.denied);
    metrics.recordPermissionDenials(toolId, 'net', proxied);
  }
  const denial = facts.denial;
  // The proxy's own refusals are counted above, each once.
  if (denial === undefined || denial.observedBy === 'proxy') return;
  if (denial.operation !== 'net' || proxied === 0) {
    metrics.recordPermissionDenials(toolId, denial.operation);
  }
}

function exitOf(exit: ProcessEnd | undefined) {
  if (exit === undefined) return {};
  if (exit.signal !== null) return { exit: { status: 'signal' as const, signal: exit.signal } };
  if (exit.code !== null) return { exit: { status: 'exit' as const, code: exit.code } };
  return {};
}
