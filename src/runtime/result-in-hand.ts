/**
 * When a run's result is in hand (run-process.ts, RunProcessOptions.settleOnResult): fd 3 has
 * ended with a whole, valid result message that toolcage did not end, and the logs the tool
 * wrote before it have been read. The worker ends fd 3 right after its result (worker/run.ts).
 */
import type { Readable } from 'node:stream';
import type { LogReader } from './log-reader.js';
import type { ResultChannel } from './result-channel.js';
import type { Stopper } from './stopper.js';
import type { WorkerMessage } from './worker/protocol.js';

export const IN_HAND = Symbol('the result is in hand');
export const LOGS_BUSY = Symbol('the result is in hand, the logs are not');

/**
 * Resolves once fd 3 has ended (EOF: the worker ends it right after its result) with a result
 * message that toolcage did not end: IN_HAND when every log byte that reached the manager has
 * been read and delivered, LOGS_BUSY when a log stream is held back (a flood, `onLog` behind);
 * never otherwise (the exit decides then). The check waits one turn of the event loop: the
 * tool's logs, written before its result, are in pipes the same poll phase reported ready no
 * later than fd 3's end (epoll hands out ready descriptors in the order they became ready), and
 * are read by the time the check phase runs. Lines written right after the result may be read
 * in the same turn and kept; nothing written later is.
 */
export function resultInHand(
  result: Readable,
  channel: ResultChannel,
  logs: LogReader,
  stopper: Stopper,
): Promise<typeof IN_HAND | typeof LOGS_BUSY> {
  return new Promise((resolve) => {
    void channel.done.then(() => {
      if (!result.readableEnded || channel.overflowed) return;
      setImmediate(() => {
        const message = parseMessage(channel.text());
        const isResult = typeof message === 'object' && message.type === 'result';
        if (isResult && stopper.reason === undefined) {
          resolve(logs.idle ? IN_HAND : LOGS_BUSY);
        }
      });
    });
  });
}

/** The worker's message in what fd 3 carried: undefined when nothing came, `invalid` when it is not one. */
export function parseMessage(text: string | undefined): WorkerMessage | 'invalid' | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && 'type' in value) {
      const type = value.type;
      if (type === 'result' && 'output' in value) return value as WorkerMessage;
      if (type === 'error' && 'phase' in value && 'error' in value) return value as WorkerMessage;
    }
    return 'invalid';
  } catch {
    return 'invalid';
  }
}
