/** The limit flags of `toolcage run` (`--memory-mb N`, `--cpus N`, …) into `limits`. */
import type { Limits } from '../sandbox/types.js';

/** Reports a usage error (throws). */
export type Fail = (message: string) => never;

/** The parsed values of the limit flags (parseArgs' strings). */
export type LimitValues = Readonly<
  Partial<Record<(typeof LIMIT_FLAGS)[number][0] | 'cpus', string>>
>;

const LIMIT_FLAGS = [
  ['memory-mb', 'memoryMb'],
  ['cpu-seconds', 'cpuSeconds'],
  ['max-processes', 'maxProcesses'],
  ['max-file-size-mb', 'maxFileSizeMb'],
  ['tmp-mb', 'tmpMb'],
  ['max-output-bytes', 'maxOutputBytes'],
  ['max-connections', 'maxConnections'],
  ['max-network-mb', 'maxNetworkMb'],
  ['max-open-files', 'maxOpenFiles'],
] as const;

export function limitsOf(values: LimitValues, fail: Fail): Limits {
  const limits: Record<string, number> = {};
  for (const [flag, key] of LIMIT_FLAGS) {
    const value = integerFlag(flag, values[flag], fail);
    if (value !== undefined) limits[key] = value;
  }
  const cpus = values.cpus;
  if (cpus !== undefined) {
    const value = Number(cpus);
    if (!/^\d+(\.\d+)?$/.test(cpus) || !(value >= 0.01 && value <= 1024)) {
      fail(`--cpus expects a number of CPUs from 0.01 to 1024, got \`${cpus}\``);
    }
    limits['cpus'] = value;
  }
  return limits;
}

/** A flag's positive (with `allowZero`, non-negative) integer; undefined when it is absent. */
export function integerFlag(
  flag: string,
  text: string | undefined,
  fail: Fail,
  allowZero = false,
): number | undefined {
  if (text === undefined) return undefined;
  if (!(allowZero ? /^(0|[1-9][0-9]*)$/ : /^[1-9][0-9]*$/).test(text))
    fail(`--${flag} expects a ${allowZero ? 'non-negative' : 'positive'} integer, got \`${text}\``);
  return Number(text);
}
