/**
 * Bounded capture of one log stream: keeps the last `maxBytes` bytes (the tail is what explains
 * a failure) and, when asked, streams complete lines to a callback. Memory stays bounded however
 * much the tool prints: a line longer than MAX_LINE_BYTES is delivered in pieces.
 */

const MAX_LINE_BYTES = 64 * 1024;

export class LogCapture {
  readonly #maxBytes: number;
  readonly #onLine: ((line: string) => void) | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;
  #partial: Buffer[] = [];
  #partialBytes = 0;

  constructor(maxBytes: number, onLine?: (line: string) => void) {
    this.#maxBytes = maxBytes;
    this.#onLine = onLine;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  push(chunk: Buffer): void {
    this.#keepTail(chunk);
    if (this.#onLine !== undefined) this.#splitLines(chunk);
  }

  /** Flushes a last line without newline to the callback. */
  end(): void {
    if (this.#partialBytes > 0) this.#emit(Buffer.concat(this.#partial));
    this.#partial = [];
    this.#partialBytes = 0;
  }

  /** The kept tail as text. */
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }

  #keepTail(chunk: Buffer): void {
    if (chunk.length >= this.#maxBytes) {
      this.#truncated ||= this.#bytes > 0 || chunk.length > this.#maxBytes;
      this.#chunks =
        this.#maxBytes > 0 ? [Buffer.from(chunk.subarray(chunk.length - this.#maxBytes))] : [];
      this.#bytes = this.#maxBytes;
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes > this.#maxBytes) {
      this.#truncated = true;
      const first = this.#chunks[0]!;
      const excess = this.#bytes - this.#maxBytes;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#bytes -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#bytes -= excess;
      }
    }
  }

  #splitLines(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(10, start);
    while (newline !== -1) {
      this.#partial.push(chunk.subarray(start, newline));
      this.#emit(Buffer.concat(this.#partial));
      this.#partial = [];
      this.#partialBytes = 0;
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#partial.push(rest);
      this.#partialBytes += rest.length;
      if (this.#partialBytes >= MAX_LINE_BYTES) this.end();
    }
  }

  #emit(line: Buffer): void {
    const text = line.toString('utf8');
    this.#onLine?.(text.endsWith('\r') ? text.slice(0, -1) : text);
  }
}
