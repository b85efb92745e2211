/**
 * Bounded capture of one log stream: keeps the last `maxBytes` bytes (the tail is what explains
 * a failure) and, when asked, queues what arrives for delivery as complete lines to a callback.
 * Delivery is paced by the caller (`deliver` with a budget, see log-reader.ts); every line is
 * delivered once, in order, one call per line. Memory stays bounded however much the tool
 * prints: the caller stops reading while lines are queued, and a line longer than
 * MAX_LINE_CHARS is delivered in pieces.
 */
import { StringDecoder } from 'node:string_decoder';

const MAX_LINE_CHARS = 64 * 1024;

/**
 * What one turn of the event loop may still deliver; `deliver` spends it. `untilMs` (a
 * `performance.now()` time) bounds what the callback's own cost adds, checked every 32 lines.
 */
export interface DeliveryBudget {
  lines: number;
  chars: number;
  readonly untilMs: number;
}

export class LogCapture {
  readonly #maxBytes: number;
  readonly #onLine: ((line: string) => void) | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #truncated = false;
  // Received, not yet split into lines: text decoded chunk by chunk (a character cut between
  // two chunks waits in the decoder), the first read from #offset on. Splitting text, not
  // bytes: a line is then a slice of a string, much cheaper than a Buffer view decoded apart
  // (docs/performance.md, "Splitting logs as text").
  readonly #decoder = new StringDecoder('utf8');
  readonly #queue: string[] = [];
  #offset = 0;
  #queued = 0;
  // The start of a line whose newline has not arrived yet.
  #partial: string[] = [];
  #partialChars = 0;

  constructor(maxBytes: number, onLine?: (line: string) => void) {
    this.#maxBytes = maxBytes;
    this.#onLine = onLine;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /** Characters received and not yet delivered as lines (0 without a callback). */
  get backlog(): number {
    return this.#queued;
  }

  push(chunk: Buffer): void {
    this.#keepTail(chunk);
    if (this.#onLine !== undefined) this.#enqueue(this.#decoder.write(chunk));
  }

  /** Delivers queued lines until the queue or `budget` runs out; true when nothing is queued. */
  deliver(budget: DeliveryBudget): boolean {
    while (budget.lines > 0 && budget.chars > 0) {
      const text = this.#queue[0];
      if (text === undefined) return true;
      const newline = text.indexOf('\n', this.#offset);
      const end = newline === -1 ? text.length : newline;
      const piece = text.slice(this.#offset, end);
      const next = newline === -1 ? text.length : newline + 1;
      this.#queued -= next - this.#offset;
      this.#offset = next;
      if (next >= text.length) {
        this.#queue.shift();
        this.#offset = 0;
      }
      if (newline === -1) this.#hold(piece, budget);
      else this.#emit(piece, budget);
    }
    return this.#queue.length === 0;
  }

  /** Delivers everything still queued, and a last line without newline. */
  end(): void {
    if (this.#onLine !== undefined) this.#enqueue(this.#decoder.end());
    const unlimited = { lines: Infinity, chars: Infinity, untilMs: Infinity };
    this.deliver(unlimited);
    if (this.#partialChars > 0) this.#emit('', unlimited);
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

  #enqueue(text: string): void {
    if (text.length === 0) return;
    this.#queue.push(text);
    this.#queued += text.length;
  }

  // Keeps the start of a line; one that grew past MAX_LINE_CHARS goes out as a piece.
  #hold(piece: string, budget: DeliveryBudget): void {
    if (piece.length === 0) return;
    this.#partial.push(piece);
    this.#partialChars += piece.length;
    if (this.#partialChars >= MAX_LINE_CHARS) this.#emit('', budget);
  }

  // Delivers the held start of a line followed by `piece`, and charges it to `budget`.
  #emit(piece: string, budget: DeliveryBudget): void {
    const line = this.#partialChars === 0 ? piece : this.#partial.join('') + piece;
    this.#partial = [];
    this.#partialChars = 0;
    budget.lines -= 1;
    budget.chars -= line.length + 1;
    this.#onLine?.(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (budget.lines % 32 === 0 && performance.now() >= budget.untilMs) budget.lines = 0;
  }
}
