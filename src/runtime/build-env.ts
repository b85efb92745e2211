import { checkEnvName, checkEnvValue } from './validate-env.js';

/**
 * Builds a tool's environment from nothing: the host variables its permissions pass through by
 * name, then the caller's variables. Returns the variables, or the first problem found.
 * toolcage's own variables (TRACEPARENT, TMPDIR, HOME, PATH) are added later and cannot be set
 * by a caller (they are blocked names).
 */
export function buildToolEnv(
  callerEnv: Readonly<Record<string, unknown>> | undefined,
  passThrough: readonly string[],
  hostEnv: NodeJS.ProcessEnv,
): { env: Record<string, string> } | { problem: string } {
  const env: Record<string, string> = {};
  for (const name of passThrough) {
    const problem = checkEnvName(name);
    if (problem !== undefined) return { problem: `permissions.env: ${problem}` };
    const value = hostEnv[name];
    if (value === undefined) continue;
    const valueProblem = checkEnvValue(name, value);
    if (valueProblem !== undefined) return { problem: `host ${valueProblem}` };
    env[name] = value;
  }
  for (const [name, value] of Object.entries(callerEnv ?? {})) {
    const problem = checkEnvName(name) ?? checkEnvValue(name, value);
    if (problem !== undefined) return { problem: `env: ${problem}` };
    env[name] = value as string;
  }
  return { env };
}
