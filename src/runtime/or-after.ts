/**
 * `promise`, or what `fallback()` gives if it has not settled within `ms`; the timer goes as soon
 * as it settles. Not p-timeout, which this replaced on every execution's path: it refuses 0 ms
 * with a TypeError (the drain's last wait comes to 0 when its whole bound has run out between
 * two checks, and the execution then failed as `internal`), and it makes an Error, with its stack
 * trace, on every call, due or not.
 */
export function orAfter<T, F>(
  promise: Promise<T>,
  ms: number,
  fallback: () => F | Promise<F>,
): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  }).then(fallback);
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
