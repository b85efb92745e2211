/**
 * The engine kit's three instruments behind intent methods. Uses only `@opentelemetry/api`.
 */
import type { Attributes, Counter, Histogram, MeterProvider } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from '../telemetry/names.js';
import { ProviderInstruments } from '../telemetry/provider-instruments.js';
import type { TelemetryGuard } from '../telemetry/guard.js';
import {
  EngineMetricAttributes,
  EngineMetricBuckets,
  EngineMetricNames,
  type ExecutionKind,
  type WaitOutcome,
} from './engine-names.js';

interface Instruments {
  readonly polls: Counter;
  readonly pollDuration: Histogram;
  readonly started: Counter;
}

/** One finished wait, as {@link EngineMetrics.recordWait} receives it. */
export interface WaitRecord {
  readonly workflowId: string;
  readonly outcome: WaitOutcome;
  /** Polls started. */
  readonly attempts: number;
  readonly durationMs: number;
}

/** Records into the given meter provider, or the global one current at record time. */
export class EngineMetrics {
  readonly #instruments: ProviderInstruments<Instruments>;
  readonly #guard: TelemetryGuard;
  readonly #workflowIdLabel: boolean;

  constructor(options: {
    readonly meterProvider: MeterProvider | undefined;
    readonly workflowIdLabel: boolean;
    readonly guard: TelemetryGuard;
  }) {
    this.#instruments = new ProviderInstruments(createInstruments, options.meterProvider);
    this.#guard = options.guard;
    this.#workflowIdLabel = options.workflowIdLabel;
  }

  /**
   * `workflow_sync_polls_total{workflow_id, outcome}` += the wait's polls (once, at its end, as
   * Compozy's execution-monitoring design does), and `workflow_sync_poll_duration_seconds{workflow_id}` (every outcome).
   */
  recordWait(wait: WaitRecord): void {
    const workflow: Attributes = this.#workflowIdLabel
      ? { [EngineMetricAttributes.workflowId]: wait.workflowId }
      : {};
    this.#guard.do('recording workflow_sync_polls_total', () =>
      this.#instruments.get().polls.add(wait.attempts, {
        ...workflow,
        [EngineMetricAttributes.outcome]: wait.outcome,
      }),
    );
    this.#guard.do('recording workflow_sync_poll_duration_seconds', () =>
      this.#instruments.get().pollDuration.record(Math.max(0, wait.durationMs) / 1000, workflow),
    );
  }

  /** `http_exec_started_total{kind}` += 1. */
  recordAsyncStarted(kind: ExecutionKind): void {
    this.#guard.do('recording http_exec_started_total', () =>
      this.#instruments.get().started.add(1, { [EngineMetricAttributes.kind]: kind }),
    );
  }
}

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  return {
    polls: meter.createCounter(EngineMetricNames.workflowSyncPolls, {
      description:
        'Polls made by synchronous waits for a workflow, added once per wait at its end.',
    }),
    pollDuration: meter.createHistogram(EngineMetricNames.workflowSyncPollDuration, {
      description: 'Time a synchronous wait for a workflow spent polling, whatever its outcome.',
      unit: 's',
      advice: { explicitBucketBoundaries: [...EngineMetricBuckets.workflowSyncPollDuration] },
    }),
    started: meter.createCounter(EngineMetricNames.httpExecStarted, {
      description: 'Asynchronous executions accepted, by kind.',
    }),
  };
}
