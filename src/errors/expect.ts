/**
 * The checks of an option's or a request field's type, worded like execa's and p-queue's: a
 * TypeError thrown before anything starts. Every layer that takes options uses these.
 */
import { describeValue } from './describe-value.js';

/** Throws a TypeError worded like execa's when `value` is not a positive integer. */
export function expectPositiveInteger(name: string, value: unknown, allowZero = false): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new TypeError(
      `Expected \`${name}\` to be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${describeValue(value)}`,
    );
  }
}

/** Throws a TypeError unless `value` is one of `allowed`. */
export function expectOneOf<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(value)}`,
    );
  }
}

/** Throws a TypeError unless `value` is of `type`. */
export function expectType(
  name: string,
  value: unknown,
  type: 'string' | 'boolean' | 'function' | 'object',
): void {
  const ok =
    type === 'object'
      ? typeof value === 'object' && value !== null && !Array.isArray(value)
      : typeof value === type;
  if (!ok)
    throw new TypeError(
      `Expected \`${name}\` to be ${type === 'object' ? 'an object' : `a ${type}`}, got ${describeValue(value)}`,
    );
}

/** A setting's value (an environment variable's, say), trimmed; undefined when unset or blank. */
export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
