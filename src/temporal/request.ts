/**
 * The `executeTool` request as it arrives from a workflow (any language, decoded from JSON):
 * checked here so that a malformed request is an `invalid_request` failure (never retried), not
 * the `TypeError` the runtime throws at a programmer's misuse (which Temporal would retry).
 */
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import { validateRequestTypes, type ExecuteRequest } from '../runtime/runtime-options.js';
import { describeValue } from '../errors/describe-value.js';
import type { ToolActivityRequest } from './types.js';

const KEYS = [
  'toolId',
  'toolPath',
  'exportName',
  'input',
  'config',
  'env',
  'timeoutMs',
  'permissions',
  'limits',
] as const satisfies readonly (keyof ToolActivityRequest)[];

/**
 * The runtime request of an activity request. Throws `invalid_request` for what is not an
 * object, an unknown key (a `toolID` typo must not silently run with defaults), or a field of
 * the wrong type (worded like the runtime's TypeErrors). Values are checked by the runtime.
 */
export function parseToolRequest(raw: unknown): ExecuteRequest {
  const label =
    typeof raw === 'object' &&
    raw !== null &&
    typeof (raw as ToolActivityRequest).toolId === 'string'
      ? (raw as { toolId: string }).toolId
      : '(none)';
  const invalid = (message: string): ToolExecutionError =>
    new ToolExecutionError({
      kind: ErrorKind.InvalidRequest,
      toolId: label,
      message: `Invalid executeTool request: ${message}`,
    });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid(`expected an object, got ${describeValue(raw)}`);
  const record = raw as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw invalid(
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')} ` +
        `(expected ${KEYS.map((k) => `\`${k}\``).join(', ')})`,
    );
  }
  // JSON has no undefined, but a TypeScript workflow may send `{ timeoutMs: undefined }`; a
  // JSON `null` means "not given" as well.
  const request: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value = record[key];
    if (value !== undefined && (value !== null || key === 'input' || key === 'config'))
      request[key] = value;
  }
  try {
    validateRequestTypes(request);
  } catch (error) {
    if (error instanceof TypeError) throw invalid(error.message);
    throw error;
  }
  return request;
}
