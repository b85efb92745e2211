/**
 * A timer that falls due while the event loop stalls (a busy or CPU-starved manager) runs, when
 * the loop comes back, before the I/O that became ready meanwhile: libuv runs due timers before
 * it polls. A timeout that concludes "nothing came" first waits for this: one poll of the loop.
 */
export function afterPoll(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
