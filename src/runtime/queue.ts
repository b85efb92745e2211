/**
 * A counting semaphore with a bounded wait list: at most `concurrency` holders at once, at most
 * `maxQueued` waiting. A waiter leaves the list when its signal aborts (deadline or cancel).
 */

/** Why a slot could not be had. */
export class QueueRejection extends Error {
  constructor(
    readonly reason: 'full' | 'aborted',
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  readonly grant: () => void;
  readonly fail: (error: Error) => void;
}

export class SlotQueue {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #waiters: Waiter[] = [];
  #active = 0;

  constructor(concurrency: number, maxQueued: number) {
    this.#concurrency = concurrency;
    this.#maxQueued = maxQueued;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiters.length;
  }

  /** Resolves once a slot is free, with the function that releases it (idempotent). */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted)
      return Promise.reject(new QueueRejection('aborted', 'aborted before start'));
    if (this.#active < this.#concurrency) {
      this.#active++;
      return Promise.resolve(this.#slotReleaser());
    }
    if (this.#waiters.length >= this.#maxQueued) {
      return Promise.reject(
        new QueueRejection(
          'full',
          `the queue is full (${this.#active} running, ${this.#waiters.length} waiting; concurrency ${this.#concurrency}, maxQueued ${this.#maxQueued})`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(new QueueRejection('aborted', 'aborted while queued'));
      };
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.#slotReleaser());
        },
        fail: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Rejects every waiter (runtime closing). */
  rejectAll(error: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.fail(error);
  }

  #slotReleaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next === undefined) this.#active--;
      else next.grant();
    };
  }
}
