/**
 * toolcage's metrics: seven instruments behind intent methods. Uses only `@opentelemetry/api`;
 * the SDK that receives the data is the caller's (or `setupTelemetry()`'s).
 */
import {
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
} from '@opentelemetry/api';
import type { DeniedOperation } from './errors/denial.js';
import { ErrorKind } from './errors/kinds.js';
import {
  INSTRUMENTATION_SCOPE,
  MetricAttributes,
  MetricBuckets,
  MetricNames,
  MetricUnits,
} from './telemetry/names.js';
import { ProviderInstruments } from './telemetry/provider-instruments.js';

export { MetricNames, PrometheusMetricNames } from './telemetry/names.js';

/** How an execution ended, as the `outcome` label of `runtime_tool_execute_seconds`. */
export type Outcome = 'success' | 'error' | 'timeout';

/** How the tool's process ended (`runtime_bun_process_exits_total`). */
export interface ProcessExit {
  readonly status: 'exit' | 'signal';
  /** Exit code, for `status: 'exit'`. */
  readonly code?: number;
  /** Signal name such as `SIGKILL`, for `status: 'signal'`. */
  readonly signal?: string;
}

/** One execution, as {@link ToolMetrics.recordExecution} receives it. */
export interface ExecutionRecord {
  readonly toolId: string;
  readonly outcome: Outcome;
  readonly durationMs: number;
  /** Size of the result. Recorded for a success, and for an `output_limit` failure. */
  readonly outputBytes?: number;
  /** Why it failed. @default 'timeout' for a timeout, else 'internal' (the caller forgot it) */
  readonly errorKind?: ErrorKind;
  /** The process's end, when a process ran. */
  readonly exit?: ProcessExit;
}

/** Options of {@link ToolMetrics}. */
export interface ToolMetricsOptions {
  /**
   * Meter provider to record into.
   * @default the global one, looked up at every record (see {@link ToolMetrics})
   */
  readonly meterProvider?: MeterProvider;
}

interface Instruments {
  readonly executeSeconds: Histogram;
  readonly errors: Counter;
  readonly timeouts: Counter;
  readonly processExits: Counter;
  readonly outputBytes: Histogram;
  readonly networkRequests: Counter;
  readonly permissionDenials: Counter;
}

/**
 * The instruments of toolcage with intent methods (`recordExecution` is the one call per
 * execution; the others are its parts, public for callers that know only part of the story).
 *
 * Without a `meterProvider` option the global provider is looked up at record time, and the
 * instruments are created again whenever it changed (see {@link ProviderInstruments}: a meter
 * taken before the SDK is registered would stay silent forever).
 */
export class ToolMetrics {
  readonly #instruments: ProviderInstruments<Instruments>;

  constructor(options: ToolMetricsOptions = {}) {
    this.#instruments = new ProviderInstruments(createInstruments, options.meterProvider);
  }

  /** Records one finished execution: duration, error, timeout, process exit, output size. */
  recordExecution(execution: ExecutionRecord): void {
    const { toolId, outcome } = execution;
    this.recordDuration(toolId, outcome, execution.durationMs);
    if (outcome !== 'success') {
      this.recordError(
        toolId,
        execution.errorKind ?? (outcome === 'timeout' ? ErrorKind.Timeout : ErrorKind.Internal),
      );
    }
    if (outcome === 'timeout') this.recordTimeout(toolId);
    if (execution.exit !== undefined) this.recordExit(execution.exit);
    const bytes = execution.outputBytes;
    // Result sizes only: a failure's bytes are an error report (or nothing) and would skew the
    // quantiles, except an output_limit failure, whose oversized result is what the panel is for.
    const isResult =
      outcome === 'success' || (execution.errorKind === ErrorKind.OutputLimit && (bytes ?? 0) > 0);
    if (bytes !== undefined && isResult) this.recordOutputBytes(toolId, bytes);
  }

  /** `runtime_tool_execute_seconds{tool_id, outcome}`. */
  recordDuration(toolId: string, outcome: Outcome, durationMs: number): void {
    if (!Number.isFinite(durationMs)) return;
    this.#get().executeSeconds.record(Math.max(0, durationMs) / 1000, {
      [MetricAttributes.toolId]: toolId,
      [MetricAttributes.outcome]: outcome,
    });
  }

  /** `runtime_tool_errors_total{tool_id, error_kind}` (every failure, timeouts included). */
  recordError(toolId: string, kind: ErrorKind): void {
    this.#get().errors.add(1, {
      [MetricAttributes.toolId]: toolId,
      [MetricAttributes.errorKind]: kind,
    });
  }

  /** `runtime_tool_timeouts_total{tool_id}`. */
  recordTimeout(toolId: string): void {
    this.#get().timeouts.add(1, { [MetricAttributes.toolId]: toolId });
  }

  /** `runtime_bun_process_exits_total{status, code | signal}`. */
  recordExit(exit: ProcessExit): void {
    const attributes: Attributes = { [MetricAttributes.status]: exit.status };
    if (exit.code !== undefined) attributes[MetricAttributes.code] = exit.code;
    if (exit.signal !== undefined) attributes[MetricAttributes.signal] = exit.signal;
    this.#get().processExits.add(1, attributes);
  }

  /** `runtime_tool_output_bytes{tool_id}`. */
  recordOutputBytes(toolId: string, bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < 0) return;
    this.#get().outputBytes.record(bytes, { [MetricAttributes.toolId]: toolId });
  }

  /** `runtime_tool_network_requests_total{tool_id, decision}`: the egress proxy's decisions. */
  recordNetworkRequests(toolId: string, allowed: number, denied: number): void {
    const { networkRequests } = this.#get();
    if (allowed > 0) {
      networkRequests.add(allowed, {
        [MetricAttributes.toolId]: toolId,
        [MetricAttributes.decision]: 'allowed',
      });
    }
    if (denied > 0) {
      networkRequests.add(denied, {
        [MetricAttributes.toolId]: toolId,
        [MetricAttributes.decision]: 'denied',
      });
    }
  }

  /** `runtime_tool_permission_denials_total{tool_id, operation}`: denials the sandbox observed. */
  recordPermissionDenials(toolId: string, operation: DeniedOperation, count = 1): void {
    if (count <= 0) return;
    this.#get().permissionDenials.add(count, {
      [MetricAttributes.toolId]: toolId,
      [MetricAttributes.operation]: operation,
    });
  }

  #get(): Instruments {
    return this.#instruments.get();
  }
}

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  return {
    executeSeconds: meter.createHistogram(MetricNames.executeSeconds, {
      description: 'Duration of tool executions, from the call to the settlement.',
      unit: MetricUnits.executeSeconds,
      advice: { explicitBucketBoundaries: [...MetricBuckets.executeSeconds] },
    }),
    errors: meter.createCounter(MetricNames.errors, {
      description: 'Failed tool executions, by error kind.',
    }),
    timeouts: meter.createCounter(MetricNames.timeouts, {
      description: 'Tool executions that hit their deadline.',
    }),
    processExits: meter.createCounter(MetricNames.processExits, {
      description: 'Ends of Bun tool processes, by exit code or signal.',
    }),
    outputBytes: meter.createHistogram(MetricNames.outputBytes, {
      description: 'Size of tool results.',
      unit: MetricUnits.outputBytes,
      advice: { explicitBucketBoundaries: [...MetricBuckets.outputBytes] },
    }),
    networkRequests: meter.createCounter(MetricNames.networkRequests, {
      description: 'Connections decided by the egress proxy of tools with a network allow-list.',
    }),
    permissionDenials: meter.createCounter(MetricNames.permissionDenials, {
      description: 'Operations of tools denied by the sandbox, by kind of operation.',
    }),
  };
}
