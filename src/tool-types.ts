/**
 * The types a tool author writes against: what a tool receives and what it is. Types only — a
 * tool imports them with `import type { Tool, ToolContext } from 'toolcage'`, which loads
 * nothing of the runtime (a tool runs inside the sandbox, where toolcage is not installed).
 * The worker (runtime/worker/run.ts) builds the context these types describe.
 */

/** The tool's logger: each call is one line on the tool's stderr, `[level] <toolId>: …`. */
export interface ToolLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** The second argument of a tool. */
export interface ToolContext<Config = unknown> {
  /** The call's `config` (JSON; `{}` when the call gave none). */
  readonly config: Config;
  /**
   * Aborted when the call ends early: at the deadline (before the process is killed), when the
   * caller cancels, or when the runtime closes.
   */
  readonly signal: AbortSignal;
  /** The id the tool was called by (its registry id, or its file's base name). */
  readonly toolId: string;
  /** This execution's id (also on the result and the span). */
  readonly executionId: string;
  readonly logger: ToolLogger;
}

/**
 * A tool: a module's export (default: `default`) that takes the call's input and its context
 * and returns (or resolves to) a JSON-serialisable result; `undefined` becomes `null`.
 *
 * ```ts
 * import type { Tool } from 'toolcage';
 * const echo: Tool<{ text: string }, { text: string }> = (input, context) => {
 *   context.logger.info('echoing');
 *   return { text: input.text };
 * };
 * export default echo;
 * ```
 */
export type Tool<Input = unknown, Output = unknown, Config = unknown> = (
  input: Input,
  context: ToolContext<Config>,
) => Output | Promise<Output>;
