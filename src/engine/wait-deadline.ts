/**
 * One AbortController for one piece of waiting: aborted by a timer at the deadline or by the
 * caller's signal, whichever comes first, and by `dispose()` at the end. Every timer and
 * listener hangs on it, so nothing outlives the wait.
 */

/** Why a {@link Deadline} was aborted. */
export type StopReason = 'timeout' | 'aborted' | 'disposed';

/** The deadline of one wait (or one `start`), and the caller's signal folded into it. */
export class Deadline {
  /** Fires at the deadline, on the caller's abort, or on `dispose()`. */
  readonly signal: AbortSignal;
  /** Rejects when `signal` fires: race the steps of the wait against it. */
  readonly stopped: Promise<never>;
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort = (): void => this.#stop('aborted');
  #reason: StopReason | undefined;

  constructor(timeoutMs: number, caller: AbortSignal | undefined) {
    this.signal = this.#controller.signal;
    this.stopped = new Promise<never>((_, reject) => {
      this.signal.addEventListener('abort', () => reject(new StoppedError(this.#reason!)), {
        once: true,
      });
    });
    this.stopped.catch(() => {}); // raced by the users; never an unhandled rejection on its own
    this.#timer = setTimeout(() => this.#stop('timeout'), timeoutMs);
    this.#caller = caller;
    if (caller?.aborted === true) this.#stop('aborted');
    else caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
  }

  /** Why it was aborted; undefined while it runs. */
  get reason(): StopReason | undefined {
    return this.#reason;
  }

  /** Clears the timer and the caller's listener, and fires `signal` for whoever still listens. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
    this.#stop('disposed');
  }

  /** Resolves after `ms`, or at once when the deadline stops; leaves no timer or listener behind. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  // The signal's own reason is what an aborted fetch() rejects with: the caller's reason, or a
  // DOMException named like the ones AbortSignal.timeout() and abort() use.
  #stop(reason: StopReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller.abort(
      reason === 'aborted'
        ? this.#caller?.reason
        : reason === 'timeout'
          ? new DOMException('The wait reached its deadline', 'TimeoutError')
          : new DOMException('The wait is over', 'AbortError'),
    );
  }
}

/** What {@link Deadline.stopped} rejects with. */
export class StoppedError extends Error {
  readonly reason: StopReason;

  constructor(reason: StopReason) {
    super(`stopped: ${reason}`);
    this.reason = reason;
  }
}
