import type { ExecuteRequest, ExecuteResult } from './runtime-options.js';
import { createToolRuntime, type ToolRuntime } from './runtime.js';

let defaultRuntime: ToolRuntime | undefined;

/**
 * Runs a tool on the default runtime, created on first use with default options (sandbox
 * `auto`, ad-hoc tools relative to the current directory). Engines with a registry should
 * create their own runtime with {@link createToolRuntime}.
 */
export function executeToolWithTimeout<T = unknown>(
  request: ExecuteRequest,
): Promise<ExecuteResult<T>> {
  defaultRuntime ??= createToolRuntime();
  return defaultRuntime.executeToolWithTimeout<T>(request);
}

/** Closes the default runtime, if one was created. */
export async function closeDefaultRuntime(): Promise<void> {
  const runtime = defaultRuntime;
  defaultRuntime = undefined;
  await runtime?.close();
}
