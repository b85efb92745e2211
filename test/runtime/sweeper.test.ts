import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { startSweeping } from '../../src/runtime/sweeper.js';

// Fake timers: "30 turns of a 1 ms timer" is then exactly that, however loaded the machine.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('startSweeping', () => {
  test('sweeps at once, then on its timer, never two at a time; stop() waits for the one under way and ends the timer', async () => {
    let calls = 0;
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sweeper = startSweeping(async () => {
      calls++;
      most = Math.max(most, ++running);
      await gate;
      running--;
    }, 1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(30);
    expect(calls).toBe(1); // The first is still under way: the timer's turns do not start another.
    release();
    await vi.advanceTimersByTimeAsync(30);
    expect(calls).toBeGreaterThan(2);
    expect(most).toBe(1);
    await sweeper.stop();
    const stoppedAt = calls;
    await vi.advanceTimersByTimeAsync(30);
    expect(calls).toBe(stoppedAt);
    expect(running).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // the interval is cleared
  });

  test('a failing sweep fails nothing; the next one runs', async () => {
    let calls = 0;
    const sweeper = startSweeping(() => {
      calls++;
      return Promise.reject(new Error('EACCES'));
    }, 1);
    await vi.advanceTimersByTimeAsync(30);
    expect(calls).toBeGreaterThan(1);
    await sweeper.stop();
  });
});
