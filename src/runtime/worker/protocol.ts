/**
 * The messages between the manager (Node) and the worker (Bun). Types only: the worker
 * imports nothing at run time.
 *
 * stdin  : one JSON line (WorkerRequest), then control lines (`abort`).
 * fd 3   : exactly one JSON document (WorkerMessage), then EOF.
 * stdout/stderr : the tool's logs, never the result.
 */

/** The request the worker reads from stdin. */
export interface WorkerRequest {
  readonly executionId: string;
  readonly toolId: string;
  /** Absolute path (or file URL) of the tool module. */
  readonly toolPath: string;
  readonly exportName: string;
  /**
   * The tool's variables. The process starts with an empty environment (a prewarmed one before
   * its request existed); the worker sets these before it imports the tool.
   */
  readonly env: Readonly<Record<string, string>>;
  readonly input: unknown;
  readonly config: unknown;
}

/** An error as it crosses the process boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  syscall?: string;
  path?: string;
  errno?: number;
  cause?: SerializedError;
}

/** Where a worker-side failure happened. */
export type WorkerPhase = 'load' | 'export' | 'call' | 'output' | 'protocol';

/** The one message the worker writes on fd 3. */
export type WorkerMessage =
  | { readonly type: 'result'; readonly output: unknown }
  | { readonly type: 'error'; readonly phase: WorkerPhase; readonly error: SerializedError };

/**
 * Bytes of the frame around a result's JSON: `{"type":"result","output":` + `}`. The worker
 * writes this frame literally (it imports nothing at run time); keep the two in step.
 */
export const RESULT_FRAME_BYTES = '{"type":"result","output":}'.length;

/**
 * Bytes the result channel always allows, whatever `limits.maxOutputBytes` says: room for an
 * error message (the worker cuts its fields, see fallback.ts), so a tool that throws under a small
 * output cap is a `tool_error`, not an `output_limit`. A *result* is still held to the cap exactly
 * (classify.ts checks its size).
 */
export const MAX_ERROR_MESSAGE_BYTES = 256 * 1024;

/**
 * The worker's flags after its entry (run.ts reads them; the pool and the sandbox add them):
 * `--toolcage-preload=<path>` imports that module ahead of the request; `--toolcage-grace`
 * makes a SIGTERM abort `context.signal` (a kill grace period); `--toolcage-egress=PORT,PATH`
 * starts the sandbox's end of the egress proxy (network/in-sandbox.ts builds it: the network
 * layer imports no runtime file, and a test holds the two prefixes equal). Inlined into the
 * worker by its build, so they cost its start nothing.
 */
export const PRELOAD_FLAG = '--toolcage-preload=';
export const GRACE_FLAG = '--toolcage-grace';
export const EGRESS_FLAG = '--toolcage-egress=';
