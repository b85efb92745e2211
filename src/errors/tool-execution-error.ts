import type { Denial } from './denial.js';
import type { ErrorKind } from './kinds.js';

const BRAND = Symbol.for('toolcage.ToolExecutionError');

/** The tool's own error, as it crossed the process boundary. */
export interface ToolThrownError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
}

/** Logs captured from the tool's stdout and stderr (the tail is kept when over the cap). */
export interface CapturedLogs {
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
}

/** Which limit a `resource_limit` (or `out_of_memory`/`output_limit`) error hit. */
export type LimitName =
  | 'memory'
  | 'cpu'
  | 'processes'
  | 'file_size'
  | 'disk'
  | 'open_files'
  | 'output'
  | 'queue'
  | 'network';

export interface ToolExecutionErrorOptions {
  readonly kind: ErrorKind;
  readonly toolId: string;
  readonly message: string;
  readonly cause?: unknown;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly durationMs?: number;
  readonly logs?: CapturedLogs;
  readonly toolError?: ToolThrownError;
  readonly limit?: LimitName;
  readonly denial?: Denial;
  readonly executionId?: string;
}

const EMPTY_LOGS: CapturedLogs = { stdout: '', stderr: '', truncated: false };

/** The one error class of toolcage; told apart by {@link ToolExecutionError.kind}. */
export class ToolExecutionError extends Error {
  override readonly name = 'ToolExecutionError';
  readonly kind: ErrorKind;
  readonly toolId: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  durationMs: number;
  logs: CapturedLogs;
  readonly toolError: ToolThrownError | undefined;
  readonly limit: LimitName | undefined;
  /**
   * For `permission_denied`: what was refused, why, and who saw it (`observedBy`: toolcage's
   * egress proxy, or only the tool's own report — see errors/denial.ts).
   */
  readonly denial: Denial | undefined;
  readonly executionId: string | undefined;

  constructor(options: ToolExecutionErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.toolId = options.toolId;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.durationMs = options.durationMs ?? 0;
    this.logs = options.logs ?? EMPTY_LOGS;
    this.toolError = options.toolError;
    this.limit = options.limit;
    this.denial = options.denial;
    this.executionId = options.executionId;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** A plain JSON view (CLI `--json`, logs). */
  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      toolId: this.toolId,
      ...(this.exitCode === undefined ? {} : { exitCode: this.exitCode }),
      ...(this.signal === undefined ? {} : { signal: this.signal }),
      ...(this.limit === undefined ? {} : { limit: this.limit }),
      ...(this.denial === undefined ? {} : { denial: this.denial }),
      ...(this.toolError === undefined ? {} : { toolError: this.toolError }),
      durationMs: this.durationMs,
      logs: this.logs,
    };
  }
}

/** True for a {@link ToolExecutionError} from any copy of this package. */
export function isToolExecutionError(value: unknown): value is ToolExecutionError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}
