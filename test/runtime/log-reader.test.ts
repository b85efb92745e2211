import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { LogCapture } from '../../src/runtime/log-capture.js';
import { LINES_PER_TURN, LogReader } from '../../src/runtime/log-reader.js';

// A stream a producer writes blocks of numbered lines into, and how many writes it refused.
function flood(stream: PassThrough, blocks: number, perBlock: number): { refused: number } {
  const counts = { refused: 0 };
  for (let block = 0; block < blocks; block++) {
    const lines = Array.from({ length: perBlock }, (_, i) => block * perBlock + i);
    if (!stream.write(`${lines.join('\n')}\n`)) counts.refused += 1;
  }
  stream.end();
  return counts;
}

describe('LogReader', () => {
  test('delivers a flood in bounded batches, in order, pushing back on the writer', async () => {
    const lines: string[] = [];
    // Lines delivered in one synchronous run (one callback of the event loop): a microtask
    // runs after each, and closes the batch.
    const batches: number[] = [];
    let open = false;
    const capture = new LogCapture(1024, (line) => {
      if (!open) {
        open = true;
        batches.push(0);
        queueMicrotask(() => (open = false));
      }
      batches[batches.length - 1]! += 1;
      lines.push(line);
    });
    const stream = new PassThrough();
    const reader = new LogReader([[stream, capture]]);
    const { refused } = flood(stream, 40, 1_000);
    // Undelivered lines stop the reading: the writer was told to wait.
    expect(refused).toBeGreaterThan(0);
    expect(stream.isPaused()).toBe(true);
    await reader.delivered;
    reader.dispose();
    capture.end();
    expect(lines).toHaveLength(40_000);
    expect(lines.every((line, index) => line === String(index))).toBe(true);
    expect(Math.max(...batches)).toBeLessThanOrEqual(LINES_PER_TURN);
    expect(batches.length).toBeGreaterThanOrEqual(40);
    expect(capture.truncated).toBe(true);
    expect(capture.text().endsWith('39999\n')).toBe(true);
  });

  test('without a callback, only the tail is kept, and a flood is read at a bounded pace', async () => {
    const capture = new LogCapture(16);
    const stream = new PassThrough();
    const reader = new LogReader([[stream, capture]]);
    // ≈ 489 KB: more than a turn may read, so the writer is made to wait.
    const { refused } = flood(stream, 100, 1_000);
    expect(refused).toBeGreaterThan(0);
    await reader.delivered;
    reader.dispose();
    expect(capture.backlog).toBe(0);
    expect(capture.text()).toBe('997\n99998\n99999\n');
  });

  test('settles for a stream closed before it was handed over, and after a destroy', async () => {
    const early = new PassThrough();
    early.destroy();
    await once(early, 'close');
    await new LogReader([[early, new LogCapture(16)]]).delivered;

    const lines: string[] = [];
    const capture = new LogCapture(1024, (line) => lines.push(line));
    const stream = new PassThrough();
    const reader = new LogReader([[stream, capture]]);
    flood(stream, 1, 5_000);
    expect(lines).toHaveLength(LINES_PER_TURN);
    stream.destroy();
    await reader.closed();
    reader.dispose();
    // What was read before the destroy is delivered, in order; nothing after it was.
    expect(lines).toHaveLength(5_000);
    expect(lines.every((line, index) => line === String(index))).toBe(true);
  });
});
