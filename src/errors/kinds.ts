/**
 * The fixed set of error kinds every failed execution is classified into. Values are part of
 * the contract (the README's table): dashboards and alerts match on them. Where each kind is
 * decided: docs/architecture.md.
 */
export const ErrorKind = {
  InvalidRequest: 'invalid_request',
  ToolNotFound: 'tool_not_found',
  SpawnFailed: 'spawn_failed',
  Timeout: 'timeout',
  Cancelled: 'cancelled',
  ToolError: 'tool_error',
  Crashed: 'crashed',
  OutOfMemory: 'out_of_memory',
  ResourceLimit: 'resource_limit',
  OutputLimit: 'output_limit',
  InvalidOutput: 'invalid_output',
  PermissionDenied: 'permission_denied',
  Internal: 'internal',
} as const;

/** One of the values of {@link ErrorKind}. */
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

/** Every kind, in declaration order (for tests and docs). */
export const ERROR_KINDS: readonly ErrorKind[] = Object.values(ErrorKind);
