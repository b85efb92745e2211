/**
 * The metrics of Compozy's workflow metrics interceptor, recorded on the worker (Node) side: executions started and ended
 * by outcome, their duration, and the workers running and configured. Uses only
 * `@opentelemetry/api`, through the same providers as toolcage's runtime metrics. Recording
 * never throws: a failing meter or exporter is reported once and otherwise ignored.
 */
import {
  type Counter,
  type Gauge,
  type Histogram,
  type MeterProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import { expectType } from '../errors/expect.js';
import { TelemetryGuard } from '../telemetry/guard.js';
import { INSTRUMENTATION_SCOPE } from '../telemetry/names.js';
import { ProviderInstruments } from '../telemetry/provider-instruments.js';
import {
  DEFAULT_WORKFLOW_METRICS_PREFIX,
  WORKFLOW_DURATION_BUCKETS,
  WORKFLOW_TYPE_LABEL,
  workflowMetricNames,
  type WorkflowMetricNames,
  type WorkflowOutcome,
} from './workflow-metric-names.js';

/** Options of {@link WorkflowMetrics}. All optional. */
export interface WorkflowMetricsOptions {
  /** Meter provider to record into. @default the global one, looked up at every record */
  readonly meterProvider?: MeterProvider;
  /**
   * Prefix of every name (`<prefix>_workflow_started_total`, …): letters, digits and `_`,
   * starting with a letter. @default 'compozy_temporal' (the names of Compozy's workflow metrics interceptor)
   */
  readonly prefix?: string;
  /**
   * Receives the one warning when recording fails (later failures are only counted).
   * @default `process.emitWarning(message, 'TelemetryWarning')`
   */
  readonly onWarning?: (message: string) => void;
}

interface Instruments {
  readonly started: Counter;
  readonly ended: Readonly<Record<WorkflowOutcome, Counter>>;
  readonly durationSeconds: Histogram;
  readonly workersRunning: UpDownCounter;
  readonly workersConfigured: Gauge;
}

const PREFIX = /^[A-Za-z][A-Za-z0-9_]{0,150}$/;

// Workers configured in this process, by prefix: every WorkflowMetrics of a prefix records the
// same process-wide count (a gauge keeps the last value recorded).
const configuredWorkers = new Map<string, number>();

/** The workflow metrics of Compozy's workflow metrics interceptor with intent methods (see {@link workflowMetricNames} for names). */
export class WorkflowMetrics {
  readonly names: WorkflowMetricNames;
  readonly #prefix: string;
  readonly #instruments: ProviderInstruments<Instruments>;
  readonly #guard: TelemetryGuard;

  constructor(options: WorkflowMetricsOptions = {}) {
    expectType('options', options, 'object');
    const prefix = options.prefix ?? DEFAULT_WORKFLOW_METRICS_PREFIX;
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw new TypeError(
        `Expected \`prefix\` to be letters, digits and \`_\` starting with a letter, got \`${String(prefix)}\` (${typeof prefix})`,
      );
    }
    if (options.onWarning !== undefined) expectType('onWarning', options.onWarning, 'function');
    this.#prefix = prefix;
    this.names = workflowMetricNames(prefix);
    const names = this.names;
    this.#instruments = new ProviderInstruments(
      (provider) => createInstruments(provider, names),
      options.meterProvider,
    );
    this.#guard = new TelemetryGuard(
      (_what, error) =>
        `toolcage: recording the Temporal workflow metrics failed (${error instanceof Error ? error.message : String(error)}); workflows are unaffected, later failures are not reported`,
      options.onWarning,
    );
  }

  /** Recording failures so far (the first one was reported). */
  get failures(): number {
    return this.#guard.failures;
  }

  /** `…_workflow_started_total{workflow_type}`. */
  workflowStarted(workflowType: string): void {
    this.#safely(() => this.#get().started.add(1, { [WORKFLOW_TYPE_LABEL]: workflowType }));
  }

  /** `…_workflow_<outcome>_total{workflow_type}` and `…_workflow_duration_seconds{workflow_type}`. */
  workflowEnded(workflowType: string, outcome: WorkflowOutcome, durationSeconds: number): void {
    this.#safely(() => {
      const instruments = this.#get();
      const labels = { [WORKFLOW_TYPE_LABEL]: workflowType };
      instruments.ended[outcome].add(1, labels);
      if (Number.isFinite(durationSeconds))
        instruments.durationSeconds.record(Math.max(0, durationSeconds), labels);
    });
  }

  /** `…_workers_running_total` +1: a worker started running. */
  workerStarted(): void {
    this.#safely(() => this.#get().workersRunning.add(1));
  }

  /** `…_workers_running_total` −1: a worker stopped (however it stopped). */
  workerStopped(): void {
    this.#safely(() => this.#get().workersRunning.add(-1));
  }

  /** `…_workers_configured_total`: one more worker configured in this process. */
  workerConfigured(): void {
    this.#recordConfigured(1);
  }

  /** `…_workers_configured_total`: a configured worker was shut down on purpose. */
  workerUnconfigured(): void {
    this.#recordConfigured(-1);
  }

  #recordConfigured(delta: number): void {
    const count = Math.max(0, (configuredWorkers.get(this.#prefix) ?? 0) + delta);
    configuredWorkers.set(this.#prefix, count);
    this.#safely(() => this.#get().workersConfigured.record(count));
  }

  #safely(record: () => void): void {
    this.#guard.do('workflow metrics', record);
  }

  // The instruments of the current provider (see ProviderInstruments: a meter taken before the
  // application registered its SDK would stay a no-op forever).
  #get(): Instruments {
    return this.#instruments.get();
  }
}

function createInstruments(provider: MeterProvider, names: WorkflowMetricNames): Instruments {
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
  const ended = (outcome: WorkflowOutcome, what: string): Counter =>
    meter.createCounter(names.ended[outcome], { description: `Workflow executions ${what}.` });
  return {
    started: meter.createCounter(names.started, {
      description: 'Workflow executions started (counted once, never on replay).',
    }),
    ended: {
      completed: ended('completed', 'completed (continue-as-new included)'),
      failed: ended('failed', 'failed (cancellations and timeouts not included)'),
      canceled: ended('canceled', 'canceled'),
      timed_out: ended('timed_out', 'failed by a timeout'),
    },
    durationSeconds: meter.createHistogram(names.durationSeconds, {
      description: 'Duration of workflow executions, from the run start to its end.',
      unit: 's',
      advice: { explicitBucketBoundaries: [...WORKFLOW_DURATION_BUCKETS] },
    }),
    workersRunning: meter.createUpDownCounter(names.workersRunning, {
      description: 'toolcage Temporal workers running (polling their task queue).',
    }),
    workersConfigured: meter.createGauge(names.workersConfigured, {
      description: 'toolcage Temporal workers configured in this process.',
    }),
  };
}
