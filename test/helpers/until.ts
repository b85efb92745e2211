/** Options of {@link until}. */
export interface UntilOptions {
  /** How long to wait before failing. @default 5_000 */
  readonly timeoutMs?: number;
  /** Time between two looks. @default 10 */
  readonly intervalMs?: number;
  /** What is waited for, named in the error when it does not happen. @default 'condition' */
  readonly what?: string;
}

/**
 * Resolves once `condition` holds, looking at it every `intervalMs`; rejects after `timeoutMs`,
 * or at once with what `condition` throws. For a wait on an event the test cannot subscribe to
 * (a count another socket changes, a process appearing in /proc) — never for an absence, which
 * no poll can prove. Plain timers, no vitest API: it also runs in `beforeAll`, where
 * `expect.poll` cannot.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 5_000, intervalMs = 10, what = 'condition' }: UntilOptions = {},
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
