import type { Readable } from 'node:stream';
import { MAX_ERROR_MESSAGE_BYTES, RESULT_FRAME_BYTES } from './worker/protocol.js';

/**
 * Reads the worker's one message from fd 3 as a stream, holding at most `maxBytes` (+ the
 * frame's own bytes, and never less than an error message's budget) in memory. Crossing the cap calls `onOverflow` at once, so the manager can
 * kill the process while the rest of an oversized result is still being written.
 */
export class ResultChannel {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #overflowed = false;
  readonly done: Promise<void>;

  constructor(stream: Readable, maxBytes: number, onOverflow: (bytes: number) => void) {
    const cap = Math.max(maxBytes + RESULT_FRAME_BYTES, MAX_ERROR_MESSAGE_BYTES);
    this.done = new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        if (this.#overflowed) return;
        this.#bytes += chunk.length;
        if (this.#bytes > cap) {
          this.#overflowed = true;
          this.#chunks.length = 0;
          stream.destroy();
          onOverflow(this.#bytes);
          resolve();
          return;
        }
        this.#chunks.push(chunk);
      });
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', () => resolve());
    });
  }

  /** Total bytes received (only meaningful up to the overflow). */
  get bytes(): number {
    return this.#bytes;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** The received text, or undefined when nothing came. */
  text(): string | undefined {
    return this.#bytes === 0 || this.#overflowed
      ? undefined
      : Buffer.concat(this.#chunks).toString('utf8');
  }
}
