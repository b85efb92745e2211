import { describe, expect, test } from 'vitest';
import { closeOnSignals } from '../../src/runtime/close-on-signals.js';

describe('closeOnSignals', () => {
  test('a signal closes the runtime once, then the handlers are gone', async () => {
    let closes = 0;
    const seen: string[] = [];
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    const before = process.listenerCount('SIGUSR2');
    closeOnSignals(
      {
        close: () => {
          closes++;
          closed();
          return Promise.resolve();
        },
      },
      { signals: ['SIGUSR2'], reraise: false, onSignal: (signal) => seen.push(signal) },
    );
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.kill(process.pid, 'SIGUSR2');
    await done;
    await expect.poll(() => process.listenerCount('SIGUSR2')).toBe(before);
    expect(closes).toBe(1);
    expect(seen).toEqual(['SIGUSR2']);
  });

  test('the disposer removes the handlers; a runtime without close() is a TypeError', () => {
    const before = process.listenerCount('SIGINT');
    const dispose = closeOnSignals({ close: () => Promise.resolve() });
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    dispose();
    expect(process.listenerCount('SIGINT')).toBe(before);
    expect(() => closeOnSignals({} as never)).toThrow(
      new TypeError('Expected `runtime` to have a close() method, got `{}` (object)'),
    );
  });
});
