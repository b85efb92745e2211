/** Order statistics and the interleaving every figure of the bench is measured with. */

/** The q-quantile (0…1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Milliseconds one call of `run` took. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * Runs `a` and `b` alternately (A, B, A, B…) `runs` times each after `warmup` unrecorded pairs,
 * so both see the same machine (other load, CPU frequency, page cache) at the same moments.
 * The order inside a pair alternates too, so neither always runs right after the other.
 */
export async function interleave(
  runs: number,
  warmup: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < warmup + runs; i++) {
    const first = i % 2 === 0;
    const x = first ? await a() : await b();
    const y = first ? await b() : await a();
    if (i < warmup) continue;
    out.a.push(first ? x : y);
    out.b.push(first ? y : x);
  }
  return out;
}

/** Executions per second of `jobs` executions run by `run`. */
export async function rate(jobs: number, run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (jobs * 1000) / (performance.now() - started);
}

/** Runs `total` jobs, at most `limit` at once. */
export async function bounded(
  total: number,
  limit: number,
  job: () => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      next++;
      await job();
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
}
