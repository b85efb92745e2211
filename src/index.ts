/**
 * toolcage: run untrusted TypeScript/JavaScript tools in sandboxed, single-use Bun processes
 * under deadlines and resource limits, with classified errors and OpenTelemetry. Loads
 * `@opentelemetry/api` only; the SDK wiring is `toolcage/telemetry` (src/telemetry/index.ts).
 */
export { createToolRuntime } from './runtime/runtime.js';
export type { ToolRuntime, ToolRuntimeSettings } from './runtime/runtime.js';
export { executeToolWithTimeout, closeDefaultRuntime } from './runtime/default-runtime.js';
export { closeOnSignals } from './runtime/close-on-signals.js';
export type { Closable, CloseOnSignalsOptions } from './runtime/close-on-signals.js';
export type {
  ExecuteRequest,
  ExecuteResult,
  ToolRuntimeOptions,
} from './runtime/runtime-options.js';
export type { ToolDefinition } from './runtime/tool-definition.js';
export { ErrorKind, ERROR_KINDS } from './errors/kinds.js';
export { ToolExecutionError, isToolExecutionError } from './errors/tool-execution-error.js';
export type { CapturedLogs, LimitName, ToolThrownError } from './errors/tool-execution-error.js';
export type { Denial, DeniedOperation } from './errors/denial.js';
export type { Enforcement, Limits, Permissions, SandboxMode } from './sandbox/types.js';
export type { NetworkOptions } from './network/network-options.js';
export type { Tool, ToolContext, ToolLogger } from './tool-types.js';
