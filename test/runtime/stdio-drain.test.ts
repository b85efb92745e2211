/**
 * The wait for a process's streams after its exit, on a loaded manager: its event loop stalls,
 * and the bytes that arrived meanwhile must still be read before a silence is judged.
 */
import { spawn } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { orAfter } from '../../src/runtime/or-after.js';
import { drain } from '../../src/runtime/stdio-drain.js';

// Blocks this thread, as a manager busy with other executions does.
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

test('a stream whose last bytes arrive while the loop stalls past the silence window is read to its end', async () => {
  // Writes 50 ms from now, then ends; the loop is blocked from 5 ms to 405 ms, well past the
  // 200 ms silence window the drain started just before.
  const writer = spawn('/bin/sh', ['-c', 'sleep 0.05; printf result'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let received = '';
  let bytes = 0;
  const ended = new Promise<void>((resolve) => {
    writer.stdout.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      bytes += chunk.length;
    });
    writer.stdout.on('end', () => resolve());
  });
  await new Promise((resolve) => writer.once('spawn', resolve));
  // Stalled in the loop's check phase (setImmediate), as an I/O callback would: the next turn
  // of the loop finds the drain's timer due before it polls. (Inside a timer callback libuv
  // would not see the others due until its next turn, after the poll.)
  setTimeout(() => setImmediate(() => stall(400)), 5);
  await drain({ ended, progress: () => bytes });
  expect(received).toBe('result');
  await new Promise((resolve) => writer.once('close', resolve));
});

test('a stream held open and silent is given up on after the silence window', async () => {
  const started = performance.now();
  await drain({ ended: new Promise(() => {}), progress: () => 0 });
  const waited = performance.now() - started;
  expect(waited).toBeGreaterThanOrEqual(190);
  expect(waited).toBeLessThan(5_000);
});

describe('orAfter (the bounded waits of the drain and the launcher)', () => {
  const timers = (): number =>
    process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;

  test('gives the promise, and leaves no timer behind, once it settles first', async () => {
    const before = timers();
    await expect(orAfter(Promise.resolve('value'), 60_000, () => 'late')).resolves.toBe('value');
    await expect(
      orAfter(Promise.reject(new Error('failed')), 60_000, () => 'late'),
    ).rejects.toThrow('failed');
    expect(timers()).toBe(before);
  });

  test("gives the fallback's value (or its failure) when the time is up first, 0 ms included", async () => {
    const never = new Promise<string>(() => {});
    await expect(orAfter(never, 20, () => 'late')).resolves.toBe('late');
    await expect(orAfter(never, 0, () => Promise.resolve('at once'))).resolves.toBe('at once');
    await expect(
      orAfter(never, 0, () => {
        throw new Error('the fallback failed');
      }),
    ).rejects.toThrow('the fallback failed');
  });
});
