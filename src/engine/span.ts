/**
 * A span of the engine kit whose every call into the tracer is guarded, and the helper that runs
 * the caller's function inside one. Uses only `@opentelemetry/api`.
 */
import {
  context,
  INVALID_SPAN_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import { categorizeError, type ErrorCategorizer } from './categorize.js';
import type { TelemetryGuard } from '../telemetry/guard.js';
import { EngineSpanAttributes } from './engine-names.js';

/** What the span helpers need from their kit. */
export interface SpanTelemetry {
  readonly guard: TelemetryGuard;
  /** @default the global tracer provider, looked up at every span */
  readonly tracerProvider: TracerProvider | undefined;
}

/** What starting a span needs. */
export interface SpanStart {
  readonly tracerName: string;
  readonly spanName: string;
  readonly attributes: Attributes;
  /** @default the active context */
  readonly parent?: Context;
}

/** A started span; ends once. A tracer that threw leaves a non-recording span behind. */
export class GuardedSpan {
  /** The parent context with this span set: run the span's work in it. */
  readonly context: Context;
  readonly #span: Span;
  readonly #guard: TelemetryGuard;
  #ended = false;

  constructor(guard: TelemetryGuard, tracerProvider: TracerProvider | undefined, start: SpanStart) {
    this.#guard = guard;
    const parent = start.parent ?? context.active();
    this.#span = guard.run(
      `starting span ${start.spanName}`,
      () =>
        (tracerProvider ?? trace.getTracerProvider())
          .getTracer(start.tracerName)
          .startSpan(
            start.spanName,
            { kind: SpanKind.INTERNAL, attributes: start.attributes },
            parent,
          ),
      trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    );
    this.context = trace.setSpan(parent, this.#span);
  }

  setAttributes(attributes: Attributes): void {
    this.#guard.do('setting span attributes', () => this.#span.setAttributes(attributes));
  }

  addEvent(name: string, attributes: Attributes): void {
    this.#guard.do(`adding span event ${name}`, () => this.#span.addEvent(name, attributes));
  }

  /** Records the exception, `error_type` and status ERROR. */
  fail(error: unknown, categorize: ErrorCategorizer | undefined): void {
    const errorType = categorize
      ? this.#guard.run('categorising an error', () => categorize(error), categorizeError(error))
      : categorizeError(error);
    this.setAttributes({ [EngineSpanAttributes.errorType]: String(errorType) });
    this.#guard.do('recording an exception', () => {
      this.#span.recordException(
        error instanceof Error ? error : { name: typeof error, message: String(error) },
      );
      this.#span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    });
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#guard.do('ending a span', () => this.#span.end());
  }
}

/**
 * Runs `fn` inside `span` (its context active) and ends the span: on a throw or rejection with
 * the exception, `error_type` and status ERROR. What `fn` returns or throws passes through as is.
 */
export async function runInSpan<T>(
  span: GuardedSpan,
  guard: TelemetryGuard,
  fn: () => T | PromiseLike<T>,
  categorize: ErrorCategorizer | undefined,
): Promise<T> {
  try {
    return await callIn(span.context, guard, fn);
  } catch (error) {
    span.fail(error, categorize);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * `fn()` with `ctx` active. A context manager that throws (before or after `fn`) is reported and
 * bypassed: `fn` runs exactly once and its own result or throw is what comes out.
 */
export function callIn<T>(ctx: Context, guard: TelemetryGuard, fn: () => T): T {
  let outcome: { readonly value: T } | { readonly error: unknown } | undefined;
  guard.do('activating a span context', () => {
    context.with(ctx, () => {
      try {
        outcome = { value: fn() };
      } catch (error) {
        outcome = { error };
      }
    });
  });
  if (outcome === undefined) return fn();
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
