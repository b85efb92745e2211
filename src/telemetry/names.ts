/**
 * Every name toolcage's telemetry publishes: instruments, units, buckets, attributes, the span.
 * Dashboards and alert rules (observability/) match on these; they are part of the contract
 * (DESIGN.md, "Telemetry"). Pure constants: the library and the SDK wiring both import this file.
 */

/** Instrumentation scope of the meter and the tracer. */
export const INSTRUMENTATION_SCOPE = 'toolcage';

/**
 * OpenTelemetry instrument names.
 *
 * The unit word is part of the name on purpose: `@opentelemetry/exporter-prometheus` 0.223 turns
 * `.` into `_` and appends `_total` to monotonic counters, but it does **not** append a unit
 * suffix (checked in its `PrometheusSerializer`: only `# UNIT` metadata is written). A name
 * without the unit would surface as `runtime_tool_execute` instead of DESIGN's
 * `runtime_tool_execute_seconds`. Translators that do append unit suffixes (the Collector's
 * Prometheus exporters, Prometheus' OTLP receiver) skip a suffix the name already contains, so
 * these names come out the same there.
 */
export const MetricNames = {
  /** Histogram, unit `s` → `runtime_tool_execute_seconds`. */
  executeSeconds: 'runtime.tool.execute.seconds',
  /** Counter → `runtime_tool_errors_total`. */
  errors: 'runtime.tool.errors',
  /** Counter → `runtime_tool_timeouts_total`. */
  timeouts: 'runtime.tool.timeouts',
  /** Counter → `runtime_bun_process_exits_total`. */
  processExits: 'runtime.bun.process.exits',
  /** Histogram, unit `By` → `runtime_tool_output_bytes`. */
  outputBytes: 'runtime.tool.output.bytes',
  /** Counter → `runtime_tool_network_requests_total` (the egress proxy's decisions). */
  networkRequests: 'runtime.tool.network.requests',
  /** Counter → `runtime_tool_permission_denials_total` (every denial the sandbox observed). */
  permissionDenials: 'runtime.tool.permission.denials',
} as const;

/** The names the metrics have once scraped by Prometheus (what observability/ queries). */
export const PrometheusMetricNames = {
  executeSeconds: 'runtime_tool_execute_seconds',
  errors: 'runtime_tool_errors_total',
  timeouts: 'runtime_tool_timeouts_total',
  processExits: 'runtime_bun_process_exits_total',
  outputBytes: 'runtime_tool_output_bytes',
  networkRequests: 'runtime_tool_network_requests_total',
  permissionDenials: 'runtime_tool_permission_denials_total',
} as const;

/** UCUM units of the histograms (counters are unitless counts). */
export const MetricUnits = {
  executeSeconds: 's',
  outputBytes: 'By',
} as const;

/** Explicit histogram bucket boundaries (DESIGN.md), given as instrument advice. */
export const MetricBuckets = {
  executeSeconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  outputBytes: [100, 1e3, 1e4, 1e5, 1e6, 1e7],
} as const;

/** Attribute (Prometheus label) names of the metrics. */
export const MetricAttributes = {
  toolId: 'tool_id',
  outcome: 'outcome',
  errorKind: 'error_kind',
  status: 'status',
  code: 'code',
  signal: 'signal',
  /** `allowed` or `denied` (network requests). */
  decision: 'decision',
  /** `read`, `write`, `net`, `run` or `other` (permission denials). */
  operation: 'operation',
} as const;

/** Name of the span around one execution. */
export const EXECUTE_TOOL_SPAN = 'runtime.execute_tool';

/** Attribute names of the `runtime.execute_tool` span (toolcage's own plus semantic conventions). */
export const SpanAttributes = {
  toolId: 'tool_id',
  timeoutMs: 'timeout_ms',
  bunVersion: 'bun_version',
  permissions: 'permissions',
  exitCode: 'exit_code',
  outputBytes: 'output_bytes',
  errorKind: 'error_kind',
  /** Semantic conventions (stable): the error class, here the error kind. */
  errorType: 'error.type',
  /** Semantic conventions: the process's exit code. */
  processExitCode: 'process.exit.code',
  /** Semantic conventions (gen-ai): always `execute_tool`. */
  genAiOperationName: 'gen_ai.operation.name',
  /** Semantic conventions (gen-ai): the tool id. */
  genAiToolName: 'gen_ai.tool.name',
} as const;

/** Events of the `runtime.execute_tool` span. */
export const SpanEvents = {
  /** One per connection the egress proxy refused; attributes in {@link NetworkDeniedAttributes}. */
  networkDenied: 'network.denied',
} as const;

/** Attributes of the `network.denied` event (hosts go here, never into metric labels). */
export const NetworkDeniedAttributes = {
  host: 'host',
  port: 'port',
  reason: 'reason',
} as const;

/** Value of `gen_ai.operation.name` on the execution span. */
export const GEN_AI_OPERATION_EXECUTE_TOOL = 'execute_tool';
