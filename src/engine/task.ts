/**
 * `withTaskSpan`: the `task.execute_sync` span of Compozy's execution-monitoring design around the caller's
 * task execution.
 */
import { expectPositiveInteger, expectType } from '../errors/expect.js';
import type { ErrorCategorizer } from './categorize.js';
import { EngineSpanAttributes, EngineSpans, EngineTracers } from './engine-names.js';
import { GuardedSpan, runInSpan, type SpanTelemetry } from './span.js';
import { expectNonEmptyString, expectOptionalFunction } from './validate.js';

/** Options of {@link withTaskSpan}. */
export interface TaskSpanOptions {
  /** The task's id (`task_id`). */
  readonly taskId: string;
  /** What kind of component runs it (`component`: `tool`, `agent`, `basic`, …). @default none */
  readonly component?: string;
  /**
   * The task's deadline, ms (`timeout_ms`), as recorded on the span. The span does not enforce
   * it: pass it on to what runs the task (such as `executeToolWithTimeout`). @default none
   */
  readonly timeoutMs?: number;
  /** `error_type` of a failure. @default categorizeError */
  readonly categorize?: ErrorCategorizer;
}

/** Validates the options of `withTaskSpan` (TypeError, before anything runs). */
export function validateTaskSpan(options: TaskSpanOptions, run: unknown): void {
  expectType('options', options, 'object');
  expectNonEmptyString('taskId', options.taskId);
  if (options.component !== undefined) expectType('component', options.component, 'string');
  if (options.timeoutMs !== undefined) expectPositiveInteger('timeoutMs', options.timeoutMs);
  expectOptionalFunction('categorize', options.categorize);
  expectType('run', run, 'function');
}

/**
 * Runs `run()` inside a span `task.execute_sync` (tracer `compozy.task`; `task_id`,
 * `component`, `timeout_ms`), the caller's active span its parent and the new span active
 * inside, so a tool run by the task is its child. Returns or throws what `run` does; on a throw
 * the span records the exception, `error_type` and status ERROR.
 */
export function runTaskSpan<T>(
  telemetry: SpanTelemetry,
  options: TaskSpanOptions,
  run: () => T | PromiseLike<T>,
): Promise<T> {
  validateTaskSpan(options, run);
  const span = new GuardedSpan(telemetry.guard, telemetry.tracerProvider, {
    tracerName: EngineTracers.task,
    spanName: EngineSpans.taskExecuteSync,
    attributes: {
      [EngineSpanAttributes.taskId]: options.taskId,
      ...(options.component === undefined
        ? {}
        : { [EngineSpanAttributes.component]: options.component }),
      ...(options.timeoutMs === undefined
        ? {}
        : { [EngineSpanAttributes.timeoutMs]: options.timeoutMs }),
    },
  });
  return runInSpan(span, telemetry.guard, run, options.categorize);
}
