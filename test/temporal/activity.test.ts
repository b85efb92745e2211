/**
 * The `executeTool` activity through the Temporal SDK's own test kit (`MockActivityEnvironment`:
 * the real activity Context, cancellation and heartbeats, without a server), running real tools
 * in the real sandbox.
 */
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { createToolActivities, type ToolActivities } from '../../src/temporal/activities.js';
import type {
  ToolActivityRequest,
  ToolActivityResult,
  ToolFailureDetails,
} from '../../src/temporal/types.js';
import { expectNothingLeft, openFds, toolProcesses } from '../helpers/leaks.js';
import { fixtureRuntime, rejectionOf, TEST_SANDBOX } from '../helpers/runtime.js';
import { until } from '../helpers/until.js';

let runtime: ToolRuntime;
let activities: ToolActivities;
let baselineFds: number;

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
/** Tool processes of this checkout (other checkouts on the machine run the same fixtures). */
const ourToolProcesses = () => toolProcesses().filter((line) => line.includes(CHECKOUT));
/** Pids of `sleep 4242` (the grandchild fixture's grandchild). */
const sleepPids = () =>
  toolProcesses()
    .filter((line) => line.includes('sleep 4242'))
    .map((line) => line.slice(0, line.indexOf(':')));

const TOOLS = {
  ok: { path: 'ok-sync.ts' },
  throws: { path: 'throws.ts' },
  forever: { path: 'forever.ts' },
  crash: { path: 'crash-exit.ts' },
  'non-json': { path: 'non-json.ts' },
  large: { path: 'large-output.ts' },
  noisy: { path: 'noisy-logs.ts' },
  'read-outside': { path: 'sandbox-read-outside.ts' },
  grandchild: { path: 'grandchild.ts', permissions: { run: true } },
};

beforeAll(() => {
  runtime = fixtureRuntime({ concurrency: 4, allowAdHocTools: false, tools: TOOLS });
  activities = createToolActivities(runtime);
  baselineFds = openFds();
});
afterAll(async () => {
  await runtime.close();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

// The SDK logs every failed activity at WARN; here they are the point.
const logger = new DefaultLogger('ERROR');

/** A mock activity environment with a live schedule (the SDK's default info is from 1970). */
function environment(info: Partial<Info> = {}): MockActivityEnvironment {
  const now = Date.now();
  return new MockActivityEnvironment(
    {
      activityType: 'executeTool',
      scheduledTimestampMs: now,
      currentAttemptScheduledTimestampMs: now,
      startToCloseTimeoutMs: 60_000,
      scheduleToCloseTimeoutMs: 0,
      ...info,
    },
    { logger },
  );
}

function run(
  request: ToolActivityRequest,
  env = environment(),
  toolActivities = activities,
): Promise<ToolActivityResult> {
  return env.run(toolActivities.executeTool, request);
}

/** The ApplicationFailure of a request that must fail, with its details. */
async function failure(
  request: ToolActivityRequest,
  env?: MockActivityEnvironment,
): Promise<{ failure: ApplicationFailure; details: ToolFailureDetails }> {
  const error = await rejectionOf(run(request, env));
  expect(error).toBeInstanceOf(ApplicationFailure);
  const applicationFailure = error as unknown as ApplicationFailure;
  expect(applicationFailure.details).toHaveLength(1);
  return {
    failure: applicationFailure,
    details: applicationFailure.details![0] as ToolFailureDetails,
  };
}

describe('success', () => {
  test('returns the result with output, duration, size, exit code, enforcement and id', async () => {
    const result = await run({ toolId: 'ok', input: { a: [1, 'b'] } });
    expect(result.output).toEqual({ echo: { a: [1, 'b'] } });
    expect(result.exitCode).toBe(0);
    expect(result.outputBytes).toBe(JSON.stringify({ echo: { a: [1, 'b'] } }).length);
    expect(result.durationMs).toBeGreaterThan(0);
    expect(result.executionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.enforcement.environment).toBe('cleared');
    expect(result.logs).toEqual({ stdout: '', stderr: '', truncated: false });
    // It crosses the wire as JSON unchanged (what Temporal's payload converter does).
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  test('keeps only the tail of each log stream (4096 bytes by default)', async () => {
    const result = await run({ toolId: 'noisy', input: { lines: 2000 } });
    expect(result.output).toEqual({ lines: 2000 });
    expect(Buffer.byteLength(result.logs.stdout)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(result.logs.stderr)).toBeLessThanOrEqual(4096);
    expect(result.logs.stdout.trimEnd().endsWith('out line 1999')).toBe(true);
    expect(result.logs.stderr.trimEnd().endsWith('err line 1999')).toBe(true);
    expect(result.logs.truncated).toBe(true);
  });
});

describe('each failing kind becomes an ApplicationFailure of that type', () => {
  test('a tool that throws: tool_error, retryable, with what it threw', async () => {
    const { failure: f, details } = await failure({ toolId: 'throws' });
    expect(f.type).toBe(ErrorKind.ToolError);
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('the weather service said no');
    expect(details).toMatchObject({
      kind: 'tool_error',
      toolId: 'throws',
      toolError: { name: 'Error', message: 'the weather service said no', code: 'E_WEATHER' },
    });
    expect(details.toolError?.stack).toContain('throws');
  });

  test('an unknown tool id: tool_not_found, non-retryable', async () => {
    const { failure: f, details } = await failure({ toolId: 'no-such-tool' });
    expect(f.type).toBe('tool_not_found');
    expect(f.nonRetryable).toBe(true);
    expect(details.message).toBe('Tool `no-such-tool` is not registered');
  });

  test.each([
    ['an unknown field', { toolID: 'ok' }, /unknown field `toolID`/],
    ['a request that is not an object', 'ok', /expected an object, got `ok` \(string\)/],
    [
      'a negative timeoutMs',
      { toolId: 'ok', timeoutMs: -1 },
      /`timeoutMs` to be a positive integer/,
    ],
    ['a blocked env name', { toolId: 'ok', env: { LD_PRELOAD: '/x.so' } }, /LD_PRELOAD/],
    ['input that is not JSON', { toolId: 'ok', input: { n: Number.NaN } }, /not JSON/],
    ['an ad-hoc tool the runtime refuses', { toolPath: 'ok-sync.ts' }, /ad-hoc tools/],
    ['a permission wider than the tool', { toolId: 'ok', permissions: { net: true } }, /net/],
  ])('%s: invalid_request, non-retryable', async (_what, request, message) => {
    const { failure: f } = await failure(request as ToolActivityRequest);
    expect(f.type).toBe('invalid_request');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(message);
  });

  test('a crash: crashed, retryable, with the exit code and the stderr tail', async () => {
    const { failure: f, details } = await failure({ toolId: 'crash' });
    expect([f.type, f.nonRetryable]).toEqual(['crashed', false]);
    expect(details.exitCode).toBe(3);
    expect(details.logs.stderr).toContain('about to exit');
  });

  test('no JSON result: invalid_output, non-retryable', async () => {
    const { failure: f } = await failure({ toolId: 'non-json' });
    expect([f.type, f.nonRetryable]).toEqual(['invalid_output', true]);
  });

  test('a result over the activity cap (1 MiB by default): output_limit, non-retryable', async () => {
    const { failure: f, details } = await failure({ toolId: 'large', input: { bytes: 2_000_000 } });
    expect([f.type, f.nonRetryable, details.limit]).toEqual(['output_limit', true, 'output']);
    // …and a result under it passes.
    const result = await run({ toolId: 'large', input: { bytes: 500_000 } });
    expect(result.outputBytes).toBe(500_002);
  });

  test('the deadline of the request: timeout, retryable, source request', async () => {
    const { failure: f, details } = await failure({ toolId: 'forever', timeoutMs: 300 });
    expect([f.type, f.nonRetryable]).toEqual(['timeout', false]);
    expect(details).toMatchObject({ timeoutMs: 300, deadlineSource: 'request' });
  });

  test.skipIf(TEST_SANDBOX === 'none')(
    'a read the sandbox denies: permission_denied, non-retryable',
    async () => {
      const { failure: f } = await failure({ toolId: 'read-outside' });
      expect([f.type, f.nonRetryable]).toEqual(['permission_denied', true]);
    },
  );

  test('a full runtime queue: resource_limit (queue), retryable', async () => {
    const small = fixtureRuntime({ concurrency: 1, maxQueued: 0, tools: TOOLS });
    try {
      const smallActivities = createToolActivities(small);
      const busy = environment();
      const blocking = busy.run(smallActivities.executeTool, {
        toolId: 'forever',
        timeoutMs: 5_000,
      });
      await until(() => small.stats.running > 0, { what: 'the blocking tool to run' });
      const error = await rejectionOf(
        environment().run(smallActivities.executeTool, { toolId: 'ok' }),
      );
      expect(error).toBeInstanceOf(ApplicationFailure);
      const f = error as unknown as ApplicationFailure;
      expect([f.type, f.nonRetryable]).toEqual(['resource_limit', false]);
      expect((f.details![0] as ToolFailureDetails).limit).toBe('queue');
      busy.cancel();
      await expect(blocking).rejects.toBeInstanceOf(CancelledFailure);
    } finally {
      await small.close();
    }
  });
});

describe('cancellation', () => {
  test('a cancel during a 10 s tool kills its whole tree and settles with CancelledFailure within 1 s', async () => {
    // Other checkouts on this machine may run the same fixture: only what appears now is ours.
    const sleepsBefore = new Set(sleepPids());
    const env = environment();
    const pending = run({ toolId: 'grandchild', timeoutMs: 10_000 }, env);
    // Running: the tool (its worker, from this checkout) and its `sleep 4242` grandchild exist.
    let ours: string[] = [];
    await until(
      () => {
        ours = sleepPids().filter((pid) => !sleepsBefore.has(pid));
        return ours.length > 0;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'the grandchild to start' },
    );
    expect(ourToolProcesses().length).toBeGreaterThan(0);
    const cancelledAt = performance.now();
    env.cancel();
    const error = await rejectionOf(pending);
    const settleMs = performance.now() - cancelledAt;
    // What remains at the moment the activity settles (no grace).
    const left = [...ourToolProcesses(), ...sleepPids().filter((pid) => ours.includes(pid))];
    console.log(`cancel → settled in ${settleMs.toFixed(1)} ms`);
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(left).toEqual([]);
    expect(settleMs).toBeLessThan(1_000);
  });

  test('a cancel before the tool starts settles without starting it', async () => {
    const env = environment();
    env.cancel();
    const error = await rejectionOf(run({ toolId: 'forever', timeoutMs: 10_000 }, env));
    expect(error).toBeInstanceOf(CancelledFailure);
  });
});

describe("the deadline fits inside the activity's", () => {
  test('start-to-close: the tool times out first (kind timeout), 1/5 of the time left before it', async () => {
    const started = performance.now();
    const { failure: f, details } = await failure(
      { toolId: 'forever' },
      environment({ startToCloseTimeoutMs: 1_500 }),
    );
    const took = performance.now() - started;
    expect([f.type, details.deadlineSource]).toEqual(['timeout', 'activity']);
    // 1 500 ms less a margin of min(1 000, 1 500 / 5) ms, minus the few ms before it was read.
    expect(details.timeoutMs).toBeGreaterThanOrEqual(1_150);
    expect(details.timeoutMs).toBeLessThanOrEqual(1_200);
    expect(took).toBeLessThan(1_500);
  });

  test('schedule-to-close counts from the first scheduling (earlier attempts included)', async () => {
    const now = Date.now();
    const { failure: f, details } = await failure(
      { toolId: 'forever', timeoutMs: 30_000 },
      environment({
        scheduledTimestampMs: now - 58_000,
        scheduleToCloseTimeoutMs: 60_000,
        startToCloseTimeoutMs: 60_000,
        attempt: 3,
      }),
    );
    expect([f.type, details.deadlineSource]).toEqual(['timeout', 'activity']);
    // 2 000 ms left, less min(1 000, 400).
    expect(details.timeoutMs).toBeGreaterThanOrEqual(1_500);
    expect(details.timeoutMs).toBeLessThanOrEqual(1_600);
  });

  test('a shorter request deadline wins (source request)', async () => {
    const { details } = await failure(
      { toolId: 'forever', timeoutMs: 200 },
      environment({ startToCloseTimeoutMs: 5_000 }),
    );
    expect(details).toMatchObject({ timeoutMs: 200, deadlineSource: 'request' });
  });

  test('an activity with no time left fails with timeout without starting the tool', async () => {
    const now = Date.now();
    const { failure: f, details } = await failure(
      { toolId: 'ok' },
      environment({ scheduledTimestampMs: now - 60_000, scheduleToCloseTimeoutMs: 60_000 }),
    );
    expect([f.type, f.nonRetryable]).toEqual(['timeout', false]);
    expect(details.message).toMatch(/was not started: its activity has 0 ms left/);
    expect(details.executionId).toBeUndefined();
  });
});

// MockActivityEnvironment is an EventEmitter ('heartbeat' events); its declaration extends
// `events.EventEmitter` through a default import the type-aware linter cannot resolve.
const heartbeats = (env: MockActivityEnvironment): EventEmitter => env as unknown as EventEmitter;

describe('heartbeats', () => {
  test('with a heartbeat timeout: one at the start, then every third of it while the tool runs', async () => {
    const env = environment({ heartbeatTimeoutMs: 300 });
    const beats: unknown[] = [];
    heartbeats(env).on('heartbeat', (details: unknown) => beats.push(details));
    await failure({ toolId: 'forever', timeoutMs: 1_000 }, env);
    // 1 000 ms at one per 100 ms: 11 on an idle machine; a loaded one delays timers.
    expect(beats.length).toBeGreaterThanOrEqual(5);
    expect(beats.length).toBeLessThanOrEqual(12);
    expect(beats[0]).toMatchObject({ toolId: 'forever' });
    const count = beats.length;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(beats.length).toBe(count); // stopped with the execution
  });

  test('without a heartbeat timeout: none', async () => {
    const env = environment();
    let beats = 0;
    heartbeats(env).on('heartbeat', () => beats++);
    await run({ toolId: 'ok' }, env);
    expect(beats).toBe(0);
  });
});

describe('options', () => {
  test('maxLogBytes and maxOutputBytes are validated and applied', async () => {
    expect(() => createToolActivities(runtime, { maxLogBytes: 0 })).toThrow(
      'Expected `maxLogBytes` to be a positive integer, got `0` (number)',
    );
    expect(() => createToolActivities({} as ToolRuntime)).toThrow(TypeError);
    const small = createToolActivities(runtime, { maxLogBytes: 64, maxOutputBytes: 100 });
    const result = await run({ toolId: 'noisy', input: { lines: 50 } }, environment(), small);
    expect(Buffer.byteLength(result.logs.stdout)).toBeLessThanOrEqual(64);
    const error = await rejectionOf(
      run({ toolId: 'large', input: { bytes: 200 } }, environment(), small),
    );
    expect((error as unknown as ApplicationFailure).type).toBe('output_limit');
  });
});
