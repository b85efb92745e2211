/**
 * The pure parts of toolcage/temporal, as tables: the failure table, the deadline, the request
 * check, log tails, the ApplicationFailure mapping, and the optional-package loader.
 */
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { ToolExecutionError, type LimitName } from '../../src/errors/tool-execution-error.js';
import { activityTimeLeftMs, toolDeadline } from '../../src/temporal/activity-deadline.js';
import { isRetryableFailure, NON_RETRYABLE_ERROR_TYPES } from '../../src/temporal/failure-table.js';
import { parseToolRequest } from '../../src/temporal/request.js';
import { requireOptional } from '../../src/temporal/require-optional.js';
import { toApplicationFailure } from '../../src/temporal/to-failure.js';
import { tailBytes, trimLogs } from '../../src/temporal/trim-logs.js';
import type { ToolFailureDetails } from '../../src/temporal/types.js';

describe('the failure table', () => {
  test.each([
    [ErrorKind.InvalidRequest, undefined, false],
    [ErrorKind.ToolNotFound, undefined, false],
    [ErrorKind.PermissionDenied, undefined, false],
    [ErrorKind.OutputLimit, 'output', false],
    [ErrorKind.InvalidOutput, undefined, false],
    [ErrorKind.OutOfMemory, 'memory', false],
    [ErrorKind.ResourceLimit, 'cpu', false],
    [ErrorKind.ResourceLimit, 'processes', false],
    [ErrorKind.ResourceLimit, 'file_size', false],
    [ErrorKind.ResourceLimit, 'open_files', false],
    [ErrorKind.ResourceLimit, 'queue', true],
    [ErrorKind.ToolError, undefined, true],
    [ErrorKind.Timeout, undefined, true],
    [ErrorKind.Crashed, undefined, true],
    [ErrorKind.SpawnFailed, undefined, true],
    [ErrorKind.Internal, undefined, true],
    [ErrorKind.Cancelled, undefined, true],
  ] as [ErrorKind, LimitName | undefined, boolean][])(
    '%s (limit %s) → retryable %s',
    (kind, limit, retryable) => {
      expect(isRetryableFailure(kind, limit)).toBe(retryable);
      const failure = toApplicationFailure(
        new ToolExecutionError({ kind, toolId: 't', message: 'm', ...(limit ? { limit } : {}) }),
        { maxLogBytes: 100, toolId: 't' },
      );
      expect([failure.type, failure.nonRetryable]).toEqual([kind, !retryable]);
    },
  );

  test("docs/temporal.md's Go retry policy lists exactly the never-retried types", () => {
    const doc = readFileSync(new URL('../../docs/temporal.md', import.meta.url), 'utf8');
    const list = /NonRetryableErrorTypes: \[\]string\{([^}]*)\}/.exec(doc)?.[1] ?? '';
    expect([...list.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]).sort()).toEqual(
      [...NON_RETRYABLE_ERROR_TYPES].sort(),
    );
  });

  test('the never-retried types for a retry policy: the kinds that fail again whatever the limit', () => {
    expect([...NON_RETRYABLE_ERROR_TYPES].sort()).toEqual(
      [
        'invalid_output',
        'invalid_request',
        'out_of_memory',
        'output_limit',
        'permission_denied',
        'tool_not_found',
      ].sort(),
    );
  });
});

describe('the deadline', () => {
  const timing = (s2c: number, sched2c = 0, scheduled = 0) => ({
    startToCloseTimeoutMs: s2c,
    scheduleToCloseTimeoutMs: sched2c,
    scheduledTimestampMs: scheduled,
  });

  test.each([
    ['start-to-close only', timing(10_000), 1_000, 1_500, 9_500],
    ['schedule-to-close earlier', timing(10_000, 5_000, 500), 1_000, 1_000, 4_500],
    ['start-to-close earlier', timing(2_000, 60_000, 500), 1_000, 1_200, 1_800],
    ['0 means none', timing(0, 0, 500), 1_000, 1_000, undefined],
    ['a past deadline is negative', timing(0, 1_000, 500), 0, 2_000, -500],
  ])('time left: %s', (_what, t, startedAt, now, expected) => {
    expect(activityTimeLeftMs(t, startedAt, now)).toBe(expected);
  });

  test.each([
    [
      'no activity timeout: the request decides',
      5_000,
      undefined,
      { timeoutMs: 5_000, source: 'request' },
    ],
    [
      'nothing at all: the tool decides',
      undefined,
      undefined,
      { timeoutMs: undefined, source: 'request' },
    ],
    ['request under the budget', 2_000, 60_000, { timeoutMs: 2_000, source: 'request' }],
    ['request over the budget', 120_000, 60_000, { timeoutMs: 59_000, source: 'activity' }],
    ['no request: the budget', undefined, 60_000, { timeoutMs: 59_000, source: 'activity' }],
    ['a short activity keeps 4/5 of it', undefined, 1_000, { timeoutMs: 800, source: 'activity' }],
  ])('%s', (_what, request, left, expected) => {
    expect(toolDeadline(request, left, 1_000)).toEqual({ expired: false, ...expected });
  });

  test('expired: less than 1 ms would remain', () => {
    expect(toolDeadline(undefined, 2, 1_000)).toEqual({
      expired: false,
      timeoutMs: 1,
      source: 'activity',
    });
    expect(toolDeadline(500, 1, 1_000)).toEqual({ expired: true, leftMs: 1 });
    expect(toolDeadline(500, -20, 1_000)).toEqual({ expired: true, leftMs: -20 });
  });
});

describe('the request', () => {
  test('keeps the known fields, drops null and undefined ones', () => {
    expect(
      parseToolRequest({
        toolId: 'a',
        input: null,
        config: { c: 1 },
        env: null,
        timeoutMs: undefined,
        permissions: { read: [] },
      }),
    ).toEqual({ toolId: 'a', input: null, config: { c: 1 }, permissions: { read: [] } });
  });

  test.each([
    [null, 'expected an object, got `null` (null)'],
    [[1], 'expected an object, got `[1]` (array)'],
    [{ toolId: 'a', signal: {} }, 'unknown field `signal`'],
    [{ toolId: 'a', foo: 1, bar: 2 }, 'unknown fields `foo`, `bar`'],
    [{ toolId: 3 }, 'Expected `toolId` to be a string, got `3` (number)'],
    [{ toolId: 'a', timeoutMs: 1.5 }, 'Expected `timeoutMs` to be a positive integer'],
    [{ toolId: 'a', env: 'X=1' }, 'Expected `env` to be an object'],
    [
      { toolId: 'a', limits: { memoryMb: -1 } },
      'Expected `limits.memoryMb` to be a positive integer',
    ],
  ])('%j → invalid_request (%s)', (raw, message) => {
    let error: unknown;
    try {
      parseToolRequest(raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ToolExecutionError);
    expect((error as ToolExecutionError).kind).toBe('invalid_request');
    expect((error as ToolExecutionError).message).toContain(message);
  });
});

describe('log tails', () => {
  test.each([
    ['short text is kept', 'hello', 10, 'hello'],
    ['the tail is kept', 'abcdefghij', 4, 'ghij'],
    ['never inside a character', 'aé世🧪', 5, '🧪'],
    ['a cut in a 3-byte character skips it', 'x世界', 4, '界'],
  ])('%s', (_what, text, max, expected) => {
    expect(tailBytes(text, max)).toBe(expected);
    expect(Buffer.byteLength(tailBytes(text, max))).toBeLessThanOrEqual(max);
  });

  test('trimLogs says when it dropped something', () => {
    expect(trimLogs({ stdout: 'abc', stderr: '', truncated: false }, 10).truncated).toBe(false);
    expect(trimLogs({ stdout: 'abc', stderr: '', truncated: true }, 10).truncated).toBe(true);
    expect(trimLogs({ stdout: 'abcdef', stderr: 'x', truncated: false }, 3)).toEqual({
      stdout: 'def',
      stderr: 'x',
      truncated: true,
    });
  });
});

describe('toApplicationFailure', () => {
  test('details carry the tool error, the limit, the exit and the log tails', () => {
    const failure = toApplicationFailure(
      new ToolExecutionError({
        kind: ErrorKind.OutOfMemory,
        toolId: 'big',
        message: 'Tool `big` ran out of memory',
        limit: 'memory',
        signal: 'SIGKILL',
        durationMs: 42,
        executionId: 'e1',
        logs: { stdout: 'o'.repeat(50), stderr: 'allocating', truncated: false },
      }),
      { maxLogBytes: 8, toolId: 'big', timeoutMs: 1_000, deadlineSource: 'activity' },
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.message).toBe('Tool `big` ran out of memory');
    expect(failure.details).toEqual([
      {
        kind: 'out_of_memory',
        toolId: 'big',
        message: 'Tool `big` ran out of memory',
        limit: 'memory',
        signal: 'SIGKILL',
        durationMs: 42,
        executionId: 'e1',
        timeoutMs: 1_000,
        deadlineSource: 'activity',
        logs: { stdout: 'oooooooo', stderr: 'locating', truncated: true },
      } satisfies ToolFailureDetails,
    ]);
  });

  test('anything else is internal and retryable', () => {
    const failure = toApplicationFailure(new RangeError('boom'), { maxLogBytes: 8, toolId: 'x' });
    expect([failure.type, failure.nonRetryable, failure.message]).toEqual([
      'internal',
      false,
      'toolcage: internal error: boom',
    ]);
    expect(failure.cause).toBeInstanceOf(RangeError);
  });
});

describe('requireOptional', () => {
  const notFound = (name: string) => () => {
    throw Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- /x.js`), {
      code: 'MODULE_NOT_FOUND',
    });
  };

  test('returns the package when it loads', () => {
    expect(requireOptional('@temporalio/common', () => ({ ok: 1 }))).toEqual({ ok: 1 });
  });

  test('a missing package is named with the command that installs it', () => {
    expect(() => requireOptional('@temporalio/worker', notFound('@temporalio/worker'))).toThrow(
      'toolcage/temporal needs the package `@temporalio/worker`, which is not installed: run `npm install @temporalio/worker@1.24.x`',
    );
  });

  test('a missing dependency of the package is a broken install, not a missing package', () => {
    expect(() => requireOptional('@temporalio/worker', notFound('@swc/core'))).toThrow(
      "toolcage/temporal could not load `@temporalio/worker`: Cannot find module '@swc/core'",
    );
  });

  test('the real loader finds the installed packages', () => {
    const common = requireOptional<{ ApplicationFailure: unknown }>('@temporalio/common');
    expect(common.ApplicationFailure).toBe(ApplicationFailure);
    expect(() => requireOptional('@temporalio/not-a-package')).toThrow(
      /needs the package `@temporalio\/not-a-package`/,
    );
  });
});
