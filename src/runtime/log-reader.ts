/**
 * Reads one execution's log streams into their captures with back-pressure, so that a tool
 * printing as fast as it can costs the manager a bounded slice of each event-loop turn and
 * slows only itself. Per turn, an execution (its two streams together) may read
 * READ_BYTES_PER_TURN and deliver LINES_PER_TURN lines (LINE_CHARS_PER_TURN characters,
 * DELIVERY_MS_PER_TURN of time) to `onLog`. A stream is paused while its capture holds lines not
 * yet delivered, or once the reading budget is spent. The turn ends at the loop's next check
 * phase (setImmediate); a saturated execution gets its next turn PACE_MS later, which delivers
 * more and resumes the stream. A paused stream is not read (Node stops reading the descriptor
 * once the stream's buffer is full), the pipe fills, and the tool's writes block (Bun's
 * console.log blocks on a full pipe: measured). Nothing is dropped or merged: every line goes
 * to `onLog` once, in its stream's order.
 */
import type { Readable } from 'node:stream';
import type { DeliveryBudget, LogCapture } from './log-capture.js';

export const READ_BYTES_PER_TURN = 128 * 1024;
export const LINES_PER_TURN = 1000;
export const LINE_CHARS_PER_TURN = 64 * 1024;
/** A slow `onLog` spends its time, not the turn's: delivery stops after this much of it. */
export const DELIVERY_MS_PER_TURN = 2;
/**
 * A saturated execution's next turn waits this long (a timer, not setImmediate): a flood then
 * costs the manager about a quarter of a core instead of all the CPU it can take, which the
 * other executions' Bun processes need (bench/RESULTS.md).
 */
export const PACE_MS = 1;

interface Source {
  readonly stream: Readable;
  readonly capture: LogCapture;
  ended: boolean;
  paused: boolean;
}

export class LogReader {
  readonly #sources: Source[];
  #readThisTurn = 0;
  #budget: DeliveryBudget = { lines: 0, chars: 0, untilMs: 0 };
  #turnEnd: NodeJS.Immediate | undefined;
  #paced: NodeJS.Timeout | undefined;
  #first = 0;
  #disposed = false;
  #progress = 0;
  #resolveDelivered!: () => void;
  /** Settles once every stream has ended and every line read has been delivered. */
  readonly delivered: Promise<void>;

  constructor(sources: ReadonlyArray<readonly [Readable, LogCapture]>) {
    this.delivered = new Promise((resolve) => (this.#resolveDelivered = resolve));
    // A stream that ended before it was handed over emits neither event again.
    this.#sources = sources.map(([stream, capture]) => ({
      stream,
      capture,
      ended: stream.readableEnded || stream.closed,
      paused: false,
    }));
    for (const source of this.#sources) {
      source.stream.on('data', (chunk: Buffer) => this.#onData(source, chunk));
      const onEnd = (): void => this.#onEnd(source);
      source.stream.once('end', onEnd);
      source.stream.once('close', onEnd);
    }
    this.#settleWhenDone();
  }

  /**
   * The streams were destroyed: nothing more comes. Settles once what was read by then has been
   * delivered (paced like the rest).
   */
  closed(): Promise<void> {
    for (const source of this.#sources) source.ended = true;
    this.#settleWhenDone();
    return this.delivered;
  }

  /** Counts bytes read and lines delivered: unchanged while the streams are silent. */
  get progress(): number {
    return this.#progress;
  }

  /**
   * Every byte read so far has been delivered, and no stream is held back (paused, or waiting
   * for its paced turn): what reached the manager is all in the captures.
   */
  get idle(): boolean {
    return (
      this.#paced === undefined &&
      this.#sources.every((source) => !source.paused && source.capture.backlog === 0)
    );
  }

  /**
   * Stops pacing, and reading: a byte that comes after is dropped (the streams are closed, or
   * close on the next turn of the event loop, see teardown.ts).
   */
  dispose(): void {
    this.#disposed = true;
    if (this.#turnEnd !== undefined) clearImmediate(this.#turnEnd);
    if (this.#paced !== undefined) clearTimeout(this.#paced);
    this.#turnEnd = undefined;
    this.#paced = undefined;
  }

  #onData(source: Source, chunk: Buffer): void {
    if (this.#disposed) return;
    if (this.#turnEnd === undefined) this.#startTurn();
    this.#progress += 1;
    this.#readThisTurn += chunk.length;
    source.capture.push(chunk);
    source.capture.deliver(this.#budget);
    const spent = this.#readThisTurn >= READ_BYTES_PER_TURN;
    for (const each of this.#sources) {
      if (!each.paused && !each.ended && (spent || each.capture.backlog > 0)) {
        each.stream.pause();
        each.paused = true;
      }
    }
  }

  #onEnd(source: Source): void {
    source.ended = true;
    this.#settleWhenDone();
  }

  // A turn's budget lasts until the loop's next check phase (setImmediate runs after the poll
  // phase, where every other execution's I/O was handled).
  #startTurn(): void {
    this.#readThisTurn = 0;
    this.#budget = {
      lines: LINES_PER_TURN,
      chars: LINE_CHARS_PER_TURN,
      untilMs: performance.now() + DELIVERY_MS_PER_TURN,
    };
    this.#turnEnd = setImmediate(() => this.#endTurn());
  }

  // Lines still queued, or the reading budget spent: the next turn comes after PACE_MS.
  #endTurn(): void {
    this.#turnEnd = undefined;
    const saturated =
      this.#readThisTurn >= READ_BYTES_PER_TURN ||
      this.#sources.some((source) => source.capture.backlog > 0);
    if (saturated) {
      this.#paced ??= setTimeout(() => this.#deliverTurn(), PACE_MS);
      return;
    }
    this.#resumeDelivered();
    this.#settleWhenDone();
  }

  #deliverTurn(): void {
    this.#paced = undefined;
    if (this.#turnEnd === undefined) this.#startTurn();
    // The streams take turns at going first, so neither starves the other of the budget.
    this.#first = (this.#first + 1) % this.#sources.length;
    const order = [...this.#sources.slice(this.#first), ...this.#sources.slice(0, this.#first)];
    const before = this.#budget.lines;
    for (const source of order) source.capture.deliver(this.#budget);
    if (this.#budget.lines !== before) this.#progress += 1;
    this.#resumeDelivered();
    this.#settleWhenDone();
  }

  // Reads again the streams whose lines have all been delivered.
  #resumeDelivered(): void {
    for (const source of this.#sources) {
      if (source.paused && source.capture.backlog === 0) {
        source.paused = false;
        source.stream.resume();
      }
    }
  }

  #settleWhenDone(): void {
    if (this.#sources.every((source) => source.ended && source.capture.backlog === 0)) {
      this.#resolveDelivered();
    }
  }
}
