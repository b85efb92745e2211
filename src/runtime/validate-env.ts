/**
 * Validation of the variables a caller gives a tool. The tool's environment is built from
 * nothing: these, the host variables its permissions pass through, and what toolcage sets.
 */

const NAME = /^[A-Z0-9_]+$/;
const MAX_VALUE_LENGTH = 32 * 1024;

// Variables that change how the loader or the runtime behaves: each is a way to run code or
// change limits before the tool's own code starts.
const BLOCKED_EXACT = new Set([
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'BUN_OPTIONS',
  'BUN_INSTALL',
  'BUN_INSTALL_CACHE_DIR',
  'GLIBC_TUNABLES',
  'PATH',
  'HOME',
  'TMPDIR',
  'TRACEPARENT',
  'TRACESTATE',
]);
const BLOCKED_PREFIXES = [
  'LD_',
  'DYLD_',
  'BUN_CONFIG_',
  'BUN_JSC_',
  'JSC_',
  'MALLOC_',
  'TOOLCAGE_',
];

/** Returns why a variable name is refused, or undefined. */
export function checkEnvName(name: string): string | undefined {
  if (!NAME.test(name))
    return `the variable name \`${JSON.stringify(name).slice(1, -1)}\` must match ${String(NAME)}`;
  if (BLOCKED_EXACT.has(name) || BLOCKED_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    return `the variable \`${name}\` is blocked (it changes how the runtime or loader behaves)`;
  }
  return undefined;
}

/** Returns why a variable value is refused, or undefined. */
export function checkEnvValue(name: string, value: unknown): string | undefined {
  if (typeof value !== 'string')
    return `the variable \`${name}\` must be a string, got ${typeof value}`;
  if (/[\0\r\n]/.test(value)) return `the value of \`${name}\` contains NUL, CR or LF`;
  if (value.length > MAX_VALUE_LENGTH)
    return `the value of \`${name}\` is longer than ${MAX_VALUE_LENGTH} characters`;
  return undefined;
}
