/**
 * After a process's exit: the wait for its streams (logs, result channel) to end while they make
 * progress. A silence is judged only after one poll of the loop (after-poll.ts): a result
 * already written, its bytes waiting in the socket, was otherwise taken for "exited without
 * writing a result" on a loaded manager.
 */
import { orAfter } from './or-after.js';
import { afterPoll } from './after-poll.js';

// How long the streams may stay open and silent (held by a grandchild the kill could not reach)
// before toolcage closes its ends; and how long at most while bytes still come (what a flood
// left in the pipes is read at the paced rate of log-reader.ts).
const STDIO_DRAIN_MS = 200;
const STDIO_DRAIN_MAX_MS = 5_000;

/** What the drain watches. */
export interface Draining {
  /** Settles once every stream has delivered its last byte. */
  readonly ended: Promise<unknown>;
  /** Grows whenever a stream delivers something. */
  progress(): number;
}

/**
 * Waits for the streams to end while they make progress: STDIO_DRAIN_MS of silence, or
 * STDIO_DRAIN_MAX_MS in all. Bounded by orAfter(), whose timer goes as soon as the streams have
 * ended (nothing of the execution outlives it, timers included).
 */
export async function drain(streams: Draining): Promise<void> {
  let ended = false;
  const whenEnded = streams.ended.then(() => (ended = true));
  const giveUpAt = performance.now() + STDIO_DRAIN_MAX_MS;
  for (;;) {
    const seen = streams.progress();
    const wait = Math.min(STDIO_DRAIN_MS, giveUpAt - performance.now());
    if (await orAfter(whenEnded, Math.max(0, wait), () => false)) {
      return;
    }
    await afterPoll();
    if (ended) return;
    if (streams.progress() === seen || performance.now() >= giveUpAt) return;
  }
}
