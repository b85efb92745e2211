/**
 * Option checks shared by the engine kit's entry points (TypeError, thrown before anything runs).
 */
import { expectType } from '../errors/expect.js';
import { describeValue } from '../errors/describe-value.js';

/** Throws a TypeError unless `value` is a non-empty string. */
export function expectNonEmptyString(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(
      `Expected \`${name}\` to be a non-empty string, got ${describeValue(value)}`,
    );
  }
}

/** Throws a TypeError unless `signal` is undefined or an AbortSignal. */
export function expectSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describeValue(signal)}`);
  }
}

/** Throws a TypeError unless `value` is undefined or a function. */
export function expectOptionalFunction(name: string, value: unknown): void {
  if (value !== undefined) expectType(name, value, 'function');
}

/** Throws a TypeError unless `value` is undefined, a string, or a function. */
export function expectStringOrFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string' && typeof value !== 'function') {
    throw new TypeError(
      `Expected \`${name}\` to be a string or a function, got ${describeValue(value)}`,
    );
  }
}
