/**
 * The `runtime.execute_tool` span around one execution. Uses only `@opentelemetry/api`.
 */
import {
  context,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type TracerProvider,
} from '@opentelemetry/api';
import type { ToolExecutionError } from './errors/tool-execution-error.js';
import {
  EXECUTE_TOOL_SPAN,
  GEN_AI_OPERATION_EXECUTE_TOOL,
  INSTRUMENTATION_SCOPE,
  NetworkDeniedAttributes,
  SpanAttributes,
  SpanEvents,
} from './telemetry/names.js';

/** What is known about an execution when it starts. */
export interface ExecutionSpanAttributes {
  /** Registry id or file base name (low-cardinality). */
  readonly toolId: string;
  /** Absent on a request refused before it was dispatched (its deadline was never computed). */
  readonly timeoutMs?: number;
  /** Absent on a request refused before it was dispatched (no Bun was asked). */
  readonly bunVersion?: string;
  /** The effective permissions as flags (`--allow-net`, …). */
  readonly permissions: readonly string[];
}

/** A started execution span; ends exactly once, on the first `succeed` or `fail`. */
export interface ExecutionSpan {
  /** W3C `traceparent` of this span for the tool process; undefined when nothing records. */
  readonly traceparent: string | undefined;
  succeed(result: { readonly exitCode: number; readonly outputBytes: number }): void;
  fail(error: ToolExecutionError): void;
  /** One `network.denied` event per connection the egress proxy refused (before the end). */
  recordNetworkDenials(denials: readonly NetworkDenialEvent[]): void;
}

/** A refused connection as the span records it. */
export interface NetworkDenialEvent {
  readonly host: string;
  readonly port: number | undefined;
  readonly reason: string;
  /** When, as a `performance.now()` reading. */
  readonly at: number;
}

/** Options of {@link startExecutionSpan}. */
export interface ExecutionSpanOptions {
  /** @default the global tracer provider */
  readonly tracerProvider?: TracerProvider;
  /**
   * When the execution began, as a `performance.now()` reading, for a span started later than
   * that; the span then also ends at the `performance.now()` of `succeed`/`fail`, so its duration
   * is read from one clock. @default now
   */
  readonly startTime?: number;
  /** The context the execution was called in. @default the active one */
  readonly parent?: Context;
}

/**
 * Starts `runtime.execute_tool` (tracer `toolcage`) as a child of the caller's active context.
 */
export function startExecutionSpan(
  attributes: ExecutionSpanAttributes,
  options: ExecutionSpanOptions = {},
): ExecutionSpan {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    INSTRUMENTATION_SCOPE,
  );
  const parent = options.parent ?? context.active();
  const { startTime } = options;
  const span = tracer.startSpan(
    EXECUTE_TOOL_SPAN,
    {
      kind: SpanKind.INTERNAL,
      ...(startTime === undefined ? {} : { startTime }),
      attributes: startAttributes(attributes),
    },
    parent,
  );
  const traceparent = traceparentOf(span.spanContext(), trace.getSpanContext(parent));
  let ended = false;
  // Records the end with `record`, then ends the span; only the first call does anything.
  const finish = (record: () => void): void => {
    if (ended) return;
    ended = true;
    try {
      record();
    } finally {
      // With a start time given, the SDK would end the span by Date.now() (ms, another clock).
      span.end(startTime === undefined ? undefined : performance.now());
    }
  };

  return {
    traceparent,
    recordNetworkDenials(denials) {
      if (ended) return;
      for (const denial of denials) addDenial(span, denial);
    },
    succeed(result) {
      finish(() => recordSuccess(span, result));
    },
    fail(error) {
      finish(() => recordFailure(span, error));
    },
  };
}

// What the span carries from its start.
function startAttributes(attributes: ExecutionSpanAttributes): Attributes {
  return {
    [SpanAttributes.toolId]: attributes.toolId,
    ...(attributes.timeoutMs === undefined
      ? {}
      : { [SpanAttributes.timeoutMs]: Math.round(attributes.timeoutMs) }),
    ...(attributes.bunVersion === undefined
      ? {}
      : { [SpanAttributes.bunVersion]: attributes.bunVersion }),
    [SpanAttributes.permissions]: [...attributes.permissions],
    [SpanAttributes.genAiOperationName]: GEN_AI_OPERATION_EXECUTE_TOOL,
    [SpanAttributes.genAiToolName]: attributes.toolId,
  };
}

// One `network.denied` event, at the time of the denial.
function addDenial(span: Span, denial: NetworkDenialEvent): void {
  span.addEvent(
    SpanEvents.networkDenied,
    {
      [NetworkDeniedAttributes.host]: denial.host,
      ...(denial.port === undefined ? {} : { [NetworkDeniedAttributes.port]: denial.port }),
      [NetworkDeniedAttributes.reason]: denial.reason,
    },
    denial.at,
  );
}

// The exit code (also as the process's) and the output's size.
function recordSuccess(
  span: Span,
  result: { readonly exitCode: number; readonly outputBytes: number },
): void {
  span.setAttributes({
    [SpanAttributes.exitCode]: result.exitCode,
    [SpanAttributes.outputBytes]: result.outputBytes,
    [SpanAttributes.processExitCode]: result.exitCode,
  });
}

// The error's kind and exit code, the exception, and status ERROR.
function recordFailure(span: Span, error: ToolExecutionError): void {
  span.setAttributes({
    [SpanAttributes.errorKind]: error.kind,
    [SpanAttributes.errorType]: error.kind,
  });
  if (error.exitCode !== undefined) {
    span.setAttribute(SpanAttributes.processExitCode, error.exitCode);
  }
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

/**
 * The W3C trace-context header value of a span, formatted from its span context (the library
 * cannot rely on a global propagator being registered). Undefined when the span is not a new
 * span of a recording SDK: the no-op tracer returns the parent's context (or the invalid one),
 * and handing the parent's id to the tool would make its spans siblings of ours.
 */
function traceparentOf(
  spanContext: SpanContext,
  parent: SpanContext | undefined,
): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  if (parent !== undefined && parent.spanId === spanContext.spanId) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}
