/**
 * `toolcage/temporal/testing`: `new MockActivityEnvironment(activityTestInfo())` runs the
 * `executeTool` activity on a real tool in the real sandbox, where the SDK's own default info
 * (scheduled in 1970) leaves it no time at all.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { createToolActivities, type ToolActivities } from '../../src/temporal/activities.js';
import { activityTestInfo, TEST_START_TO_CLOSE_MS } from '../../src/temporal/testing.js';
import type { ToolActivityResult } from '../../src/temporal/types.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { fixtureRuntime, rejectionOf } from '../helpers/runtime.js';

let runtime: ToolRuntime;
let activities: ToolActivities;
let baselineFds: number;
// The SDK logs every failed activity at WARN; here one fails on purpose.
const logger = new DefaultLogger('ERROR', () => {});

beforeAll(() => {
  runtime = fixtureRuntime({ allowAdHocTools: false, tools: { ok: { path: 'ok-sync.ts' } } });
  activities = createToolActivities(runtime);
  baselineFds = openFds();
});
afterAll(async () => {
  await runtime.close();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

describe('activityTestInfo', () => {
  test('new MockActivityEnvironment(activityTestInfo()) runs executeTool on a real tool', async () => {
    const env = new MockActivityEnvironment(activityTestInfo(), { logger });
    const result: ToolActivityResult = await env.run(activities.executeTool, {
      toolId: 'ok',
      input: { n: 1 },
    });
    expect(result.output).toEqual({ echo: { n: 1 } });
    expect(result.exitCode).toBe(0);
  });

  test('the SDK’s default info (scheduled in 1970) leaves no time: that is why it exists', async () => {
    const env = new MockActivityEnvironment(undefined, { logger });
    const error = await rejectionOf(
      env.run(activities.executeTool, { toolId: 'ok', input: { n: 1 } }),
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error['type']).toBe(ErrorKind.Timeout);
    expect(error['message']).toMatch(/its activity has 0 ms left/);
  });

  test('scheduled now, 60 s start-to-close, no schedule-to-close; overrides win', () => {
    const before = Date.now();
    const info = activityTestInfo({ attempt: 3, startToCloseTimeoutMs: 5_000 });
    expect(info.scheduledTimestampMs).toBeGreaterThanOrEqual(before);
    expect(info.scheduledTimestampMs).toBeLessThanOrEqual(Date.now());
    expect(info.currentAttemptScheduledTimestampMs).toBe(info.scheduledTimestampMs);
    expect(info).toMatchObject({
      activityType: 'executeTool',
      scheduleToCloseTimeoutMs: 0,
      startToCloseTimeoutMs: 5_000,
      attempt: 3,
    });
    expect(activityTestInfo().startToCloseTimeoutMs).toBe(TEST_START_TO_CLOSE_MS);
  });
});
