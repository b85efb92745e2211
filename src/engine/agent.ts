/**
 * `withAgentSpans`: the `agent.prepare` then `agent.execute_sync` spans of Compozy's execution-monitoring design
 * around the caller's preparation and execution of an agent.
 */
import { context, type Context } from '@opentelemetry/api';
import { expectType } from '../errors/expect.js';
import type { ErrorCategorizer } from './categorize.js';
import { EngineSpanAttributes, EngineSpans, EngineTracers } from './engine-names.js';
import { GuardedSpan, runInSpan, type SpanTelemetry } from './span.js';
import {
  expectNonEmptyString,
  expectOptionalFunction,
  expectStringOrFunction,
} from './validate.js';

/** Options of {@link withAgentSpans}. */
export interface AgentSpansOptions<P, T> {
  /** The agent's id (`agent_id`). */
  readonly agentId: string;
  /**
   * The action (`action`): known up front, or read from what `prepare` returned (Compozy's engine
   * reads it from the loaded configuration). @default none
   */
  readonly action?: string | ((prepared: P) => string | undefined);
  /** Loads what the execution needs (configuration, memory, tools); inside `agent.prepare`. */
  readonly prepare: () => P | PromiseLike<P>;
  /** Runs the agent with what `prepare` returned; inside `agent.execute_sync`. */
  readonly execute: (prepared: P) => T | PromiseLike<T>;
  /** `error_type` of a failure. @default categorizeError */
  readonly categorize?: ErrorCategorizer;
}

/**
 * Runs `prepare` inside a span `agent.prepare`, then `execute` inside a span
 * `agent.execute_sync` (tracer `compozy.agent`; both with `agent_id` and `action`). The two
 * spans are siblings under the caller's active span: the preparation has ended when the
 * execution starts. A failing `prepare` ends the call (no execution span). Returns or throws
 * what `execute` (or `prepare`) does; a failed span records the exception, `error_type` and
 * status ERROR.
 */
export function runAgentSpans<P, T>(
  telemetry: SpanTelemetry,
  options: AgentSpansOptions<P, T>,
): Promise<T> {
  expectType('options', options, 'object');
  expectNonEmptyString('agentId', options.agentId);
  expectStringOrFunction('action', options.action);
  expectType('prepare', options.prepare, 'function');
  expectType('execute', options.execute, 'function');
  expectOptionalFunction('categorize', options.categorize);
  return runAgent(telemetry, options, context.active());
}

async function runAgent<P, T>(
  telemetry: SpanTelemetry,
  options: AgentSpansOptions<P, T>,
  parent: Context,
): Promise<T> {
  const { agentId, action, prepare, execute, categorize } = options;
  const start = (spanName: string, actionName: string | undefined): GuardedSpan =>
    new GuardedSpan(telemetry.guard, telemetry.tracerProvider, {
      tracerName: EngineTracers.agent,
      spanName,
      attributes: {
        [EngineSpanAttributes.agentId]: agentId,
        ...(actionName === undefined ? {} : { [EngineSpanAttributes.action]: actionName }),
      },
      parent,
    });

  let actionName = typeof action === 'string' ? action : undefined;
  const prepareSpan = start(EngineSpans.agentPrepare, actionName);
  const prepared = await runInSpan(
    prepareSpan,
    telemetry.guard,
    async () => {
      const value = await prepare();
      if (typeof action === 'function') {
        actionName = action(value);
        if (actionName !== undefined) {
          prepareSpan.setAttributes({ [EngineSpanAttributes.action]: actionName });
        }
      }
      return value;
    },
    categorize,
  );
  const executeSpan = start(EngineSpans.agentExecuteSync, actionName);
  return runInSpan(executeSpan, telemetry.guard, () => execute(prepared), categorize);
}
