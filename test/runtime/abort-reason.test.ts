/**
 * The caller's abort reason is the `cause` of the `cancelled` failure it caused: real Bun, a tool
 * cancelled while running and a call cancelled before it starts; a timeout or a close has none.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { fixtureRuntime, rejectionOf, runUntilReady, waitForLine } from '../helpers/runtime.js';

let runtime: ToolRuntime;
let baselineFds: number;

beforeAll(async () => {
  runtime = fixtureRuntime();
  // Built before the tests: a cancel must not fall on the build.
  await runUntilReady(runtime, 'forever.ts');
  baselineFds = openFds();
});
afterAll(async () => {
  await runtime.close();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

describe('the abort reason', () => {
  test('a running tool cancelled with a reason: the reason is the error’s cause', async () => {
    const controller = new AbortController();
    const { onLog, ready } = waitForLine('ready');
    const run = rejectionOf(
      runtime.executeToolWithTimeout({ toolPath: 'forever.ts', signal: controller.signal, onLog }),
    );
    await ready;
    const reason = new Error('the user left');
    controller.abort(reason);
    const error = await run;
    expect(error['kind']).toBe(ErrorKind.Cancelled);
    expect(error['cause']).toBe(reason);
  });

  test('a signal aborted before the call: its reason, whatever it is', async () => {
    const error = await rejectionOf(
      runtime.executeToolWithTimeout({
        toolPath: 'ok-sync.ts',
        signal: AbortSignal.abort('superseded by a newer request'),
      }),
    );
    expect(error['kind']).toBe(ErrorKind.Cancelled);
    expect(error['cause']).toBe('superseded by a newer request');
  });

  test('abort() without a reason: the AbortError the signal carries', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejectionOf(
      runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', signal: controller.signal }),
    );
    expect(error['cause']).toBe(controller.signal.reason);
    expect((error['cause'] as Error).name).toBe('AbortError');
  });

  test('a timeout is not the caller’s abort: no cause from the signal', async () => {
    const controller = new AbortController();
    const error = await rejectionOf(
      runtime.executeToolWithTimeout({
        toolPath: 'forever.ts',
        signal: controller.signal,
        timeoutMs: 300,
      }),
    );
    controller.abort(new Error('too late'));
    expect(error['kind']).toBe(ErrorKind.Timeout);
    expect(error['cause']).toBeUndefined();
  });
});
