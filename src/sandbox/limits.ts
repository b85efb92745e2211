/**
 * Resource limits: validation (TypeError on misuse) and resolution. A call may only lower the
 * limits of its tool; a higher value is capped, like a call's `timeoutMs`.
 */
import { describeValue } from '../errors/describe-value.js';
import { expectPositiveInteger } from '../errors/expect.js';
import type { Limits, ResolvedLimits } from './types.js';

const MIB = 1024 * 1024;

/** The limits when nothing is configured (the README's defaults). */
export const DEFAULT_LIMITS: ResolvedLimits = Object.freeze({
  memoryMb: 512,
  cpuSeconds: undefined,
  maxProcesses: 256,
  maxFileSizeMb: 64,
  tmpMb: 64,
  maxOutputBytes: 10 * MIB,
  maxLogBytes: MIB,
  maxConnections: 32,
  maxNetworkMb: 256,
  maxOpenFiles: 1024,
  cpus: undefined,
});

const KEYS = [
  'memoryMb',
  'cpuSeconds',
  'maxProcesses',
  'maxFileSizeMb',
  'tmpMb',
  'maxOutputBytes',
  'maxLogBytes',
  'maxConnections',
  'maxNetworkMb',
  'maxOpenFiles',
  'cpus',
] as const satisfies readonly (keyof Limits)[];

/**
 * Throws a TypeError worded like "Expected `limits.memoryMb` to be a positive integer, got `-1`
 * (number)" when `value` is not a {@link Limits} object. Unknown keys are errors.
 */
export function validateLimits(value: unknown, name = 'limits'): asserts value is Limits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describeValue(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Expected \`${name}\` to have only the keys ${KEYS.map((k) => `\`${k}\``).join(', ')}, got \`${key}\``,
      );
    }
  }
  for (const key of KEYS) {
    const limit = record[key];
    if (limit === undefined) continue;
    if (key === 'cpus') {
      if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0.01 || limit > 1024) {
        throw new TypeError(
          `Expected \`${name}.cpus\` to be a number of CPUs from 0.01 to 1024, got ${describeValue(limit)}`,
        );
      }
      continue;
    }
    expectPositiveInteger(`${name}.${key}`, limit);
  }
}

/**
 * The limits one call runs with: the runtime `defaults` overridden field by field by the tool's,
 * then lowered (never raised) by the call's. Unset fields take {@link DEFAULT_LIMITS};
 * `cpuSeconds` stays unset (no CPU limit) unless someone sets it.
 */
export function resolveLimits(tool?: Limits, defaults?: Limits, call?: Limits): ResolvedLimits {
  const base = toolLimits(tool, defaults);
  return call === undefined ? base : callLimits(base, call);
}

/** A tool's own limits: the runtime `defaults` overridden field by field by the tool's. */
export function toolLimits(tool?: Limits, defaults?: Limits): ResolvedLimits {
  if (defaults !== undefined) validateLimits(defaults, 'defaults.limits');
  if (tool !== undefined) validateLimits(tool, 'tool limits');
  const pick = <K extends keyof Limits>(key: K): Limits[K] | undefined =>
    tool?.[key] ?? defaults?.[key];
  return {
    memoryMb: pick('memoryMb') ?? DEFAULT_LIMITS.memoryMb,
    cpuSeconds: pick('cpuSeconds') ?? DEFAULT_LIMITS.cpuSeconds,
    maxProcesses: pick('maxProcesses') ?? DEFAULT_LIMITS.maxProcesses,
    maxFileSizeMb: pick('maxFileSizeMb') ?? DEFAULT_LIMITS.maxFileSizeMb,
    tmpMb: pick('tmpMb') ?? DEFAULT_LIMITS.tmpMb,
    maxOutputBytes: pick('maxOutputBytes') ?? DEFAULT_LIMITS.maxOutputBytes,
    maxLogBytes: pick('maxLogBytes') ?? DEFAULT_LIMITS.maxLogBytes,
    maxConnections: pick('maxConnections') ?? DEFAULT_LIMITS.maxConnections,
    maxNetworkMb: pick('maxNetworkMb') ?? DEFAULT_LIMITS.maxNetworkMb,
    maxOpenFiles: pick('maxOpenFiles') ?? DEFAULT_LIMITS.maxOpenFiles,
    cpus: pick('cpus') ?? DEFAULT_LIMITS.cpus,
  };
}

/** A call's limits: its tool's (`base`), lowered (never raised) by the call's. */
export function callLimits(base: ResolvedLimits, call: Limits): ResolvedLimits {
  validateLimits(call, 'limits');
  return {
    memoryMb: lower(base.memoryMb, call.memoryMb),
    cpuSeconds:
      base.cpuSeconds === undefined ? call.cpuSeconds : lower(base.cpuSeconds, call.cpuSeconds),
    maxProcesses: lower(base.maxProcesses, call.maxProcesses),
    maxFileSizeMb: lower(base.maxFileSizeMb, call.maxFileSizeMb),
    tmpMb: lower(base.tmpMb, call.tmpMb),
    maxOutputBytes: lower(base.maxOutputBytes, call.maxOutputBytes),
    maxLogBytes: lower(base.maxLogBytes, call.maxLogBytes),
    maxConnections: lower(base.maxConnections, call.maxConnections),
    maxNetworkMb: lower(base.maxNetworkMb, call.maxNetworkMb),
    maxOpenFiles: lower(base.maxOpenFiles, call.maxOpenFiles),
    cpus: base.cpus === undefined ? call.cpus : lower(base.cpus, call.cpus),
  };
}

function lower(base: number, requested: number | undefined): number {
  return requested === undefined ? base : Math.min(base, requested);
}
