import { describe, expect, test } from 'vitest';
import { backoffDelay, normalizeBackoff } from '../../src/engine/backoff.js';

describe('backoffDelay', () => {
  const noJitter = normalizeBackoff({ random: () => 0 });
  const fullDraw = normalizeBackoff({ random: () => 0.999_999 });

  test.each([
    [1, 100, 80],
    [2, 150, 120],
    [3, 225, 180],
    [4, 338, 270],
    [5, 506, 405],
    [6, 759, 608],
    [7, 1_000, 800],
    [50, 1_000, 800],
  ])(
    'the defaults pause %i → %i ms at the most (× 1.5 from 100 ms, capped at 1 s), %i at the least',
    (attempt, most, least) => {
      expect(backoffDelay(attempt, noJitter)).toBe(most);
      // Jitter takes up to 20 % away, never adds.
      expect(backoffDelay(attempt, fullDraw)).toBe(least);
    },
  );

  test('the first re-poll of the defaults comes within 100 ms, whatever the draw', () => {
    for (let i = 0; i < 1_000; i++) {
      const delay = backoffDelay(1, normalizeBackoff({}));
      expect(delay).toBeGreaterThanOrEqual(80);
      expect(delay).toBeLessThanOrEqual(100);
    }
  });

  test('options shape the curve; a multiplier of 1 polls at a fixed pace', () => {
    const custom = normalizeBackoff({
      initialDelayMs: 50,
      maxDelayMs: 300,
      multiplier: 3,
      jitter: 0.5,
      random: () => 0.5,
    });
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, custom))).toEqual([38, 113, 225, 225]);
    const fixed = normalizeBackoff({ initialDelayMs: 250, multiplier: 1, jitter: 0 });
    expect([1, 2, 9].map((n) => backoffDelay(n, fixed))).toEqual([250, 250, 250]);
  });

  test('a random source outside [0, 1) is clamped, never stretching a pause', () => {
    expect(backoffDelay(1, normalizeBackoff({ random: () => 7 }))).toBe(80);
    expect(backoffDelay(1, normalizeBackoff({ random: () => -3 }))).toBe(100);
    expect(backoffDelay(1, normalizeBackoff({ random: () => Number.NaN }))).toBe(100);
  });
});

describe('normalizeBackoff', () => {
  test('undefined options are the defaults', () => {
    expect(normalizeBackoff(undefined)).toMatchObject({
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      multiplier: 1.5,
      jitter: 0.2,
    });
    expect(normalizeBackoff({ initialDelayMs: undefined } as never).initialDelayMs).toBe(100);
  });

  test.each([
    [
      { initialDelayMs: -1 },
      'Expected `backoff.initialDelayMs` to be a non-negative integer, got `-1` (number)',
    ],
    [{ maxDelayMs: 0 }, 'Expected `backoff.maxDelayMs` to be a positive integer, got `0` (number)'],
    [
      { initialDelayMs: 500, maxDelayMs: 200 },
      'Expected `backoff.maxDelayMs` to be at least `backoff.initialDelayMs` (500), got `200` (number)',
    ],
    [
      { multiplier: 0.5 },
      'Expected `backoff.multiplier` to be a number from 1 to 100, got `0.5` (number)',
    ],
    [{ jitter: 2 }, 'Expected `backoff.jitter` to be a number from 0 to 1, got `2` (number)'],
    [{ jitter: '0.1' }, 'Expected `backoff.jitter` to be a number from 0 to 1, got `0.1` (string)'],
    [{ random: 4 }, 'Expected `backoff.random` to be a function, got `4` (number)'],
  ])('%o is a TypeError', (options, message) => {
    expect(() => normalizeBackoff(options as never)).toThrow(new TypeError(message));
  });

  test('a non-object is a TypeError', () => {
    expect(() => normalizeBackoff(5 as never)).toThrow(
      new TypeError('Expected `backoff` to be an object, got `5` (number)'),
    );
  });
});
