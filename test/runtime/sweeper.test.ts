import { describe, expect, test } from 'vitest';
import { startSweeping } from '../../src/runtime/sweeper.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    await sleep(30);
    expect(calls).toBe(1); // The first is still under way: the timer's turns do not start another.
    release();
    await expect.poll(() => calls).toBeGreaterThan(2);
    expect(most).toBe(1);
    await sweeper.stop();
    const stoppedAt = calls;
    await sleep(30);
    expect(calls).toBe(stoppedAt);
    expect(running).toBe(0);
  });

  test('a failing sweep fails nothing; the next one runs', async () => {
    let calls = 0;
    const sweeper = startSweeping(() => {
      calls++;
      return Promise.reject(new Error('EACCES'));
    }, 1);
    await expect.poll(() => calls).toBeGreaterThan(1);
    await sweeper.stop();
  });
});
