/**
 * The pause between two polls: capped exponential backoff with jitter. The defaults suit a
 * synchronous HTTP endpoint, where a person or a program is waiting: the first re-poll comes
 * within 100 ms, pauses grow by half (so a workflow is noticed at most ~1.5 times its run time
 * after it started), and none is longer than a second (at most a second late however long it
 * ran) — 10 polls for a 5 s workflow, 65 for a minute (without jitter).
 */
import { expectPositiveInteger, expectType } from '../errors/expect.js';
import { describeValue } from '../errors/describe-value.js';

/** Options of the pause between polls. All optional. */
export interface BackoffOptions {
  /** Pause after the first poll, ms (before jitter). @default 100 */
  readonly initialDelayMs?: number;
  /** Longest pause, ms (before jitter). @default 1000 */
  readonly maxDelayMs?: number;
  /** Growth of the pause from one poll to the next (≥ 1; 1 polls at a fixed pace). @default 1.5 */
  readonly multiplier?: number;
  /**
   * Share of each pause taken away at random, from 0 (none) to 1 (anywhere from 0 to the full
   * pause). Jitter only shortens a pause, so `initialDelayMs` and `maxDelayMs` stay upper bounds;
   * it keeps many waits that started together from polling together. @default 0.2
   */
  readonly jitter?: number;
  /** Source of randomness in [0, 1) (inject one to make pauses predictable). @default Math.random */
  readonly random?: () => number;
}

/** {@link BackoffOptions} with every default filled in. */
export type Backoff = Required<BackoffOptions>;

const DEFAULTS: Backoff = {
  initialDelayMs: 100,
  maxDelayMs: 1_000,
  multiplier: 1.5,
  jitter: 0.2,
  random: Math.random,
};

/** Fills defaults; a TypeError names the first wrong option. */
export function normalizeBackoff(options: BackoffOptions | undefined, name = 'backoff'): Backoff {
  if (options === undefined) return DEFAULTS;
  expectType(name, options, 'object');
  const backoff: Backoff = { ...DEFAULTS, ...withoutUndefined(options) };
  expectPositiveInteger(`${name}.initialDelayMs`, backoff.initialDelayMs, true);
  expectPositiveInteger(`${name}.maxDelayMs`, backoff.maxDelayMs);
  if (backoff.maxDelayMs < backoff.initialDelayMs) {
    throw new TypeError(
      `Expected \`${name}.maxDelayMs\` to be at least \`${name}.initialDelayMs\` (${backoff.initialDelayMs}), got ${describeValue(backoff.maxDelayMs)}`,
    );
  }
  expectNumberIn(`${name}.multiplier`, backoff.multiplier, 1, 100);
  expectNumberIn(`${name}.jitter`, backoff.jitter, 0, 1);
  expectType(`${name}.random`, backoff.random, 'function');
  return backoff;
}

/**
 * The pause after poll number `attempt` (1-based): `min(maxDelayMs, initialDelayMs ×
 * multiplier^(attempt − 1))`, less a random share of up to `jitter` of it, in whole ms.
 */
export function backoffDelay(attempt: number, backoff: Backoff): number {
  const base = Math.min(
    backoff.maxDelayMs,
    backoff.initialDelayMs * backoff.multiplier ** Math.max(0, attempt - 1),
  );
  const draw = backoff.random();
  // A source outside [0, 1) (or NaN) is clamped, never trusted to stretch a pause.
  const share = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 0;
  // Whole milliseconds: what timers resolve to anyway.
  return Math.round(base * (1 - backoff.jitter * share));
}

function expectNumberIn(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new TypeError(
      `Expected \`${name}\` to be a number from ${min} to ${max}, got ${describeValue(value)}`,
    );
  }
}

// `{ ...defaults, ...options }` with an explicit `undefined` meaning "the default".
function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
