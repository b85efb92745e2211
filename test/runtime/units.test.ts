import { describe, expect, test } from 'vitest';
import { LogCapture } from '../../src/runtime/log-capture.js';
import { QueueRejection, SlotQueue } from '../../src/runtime/queue.js';
import { findNonJson } from '../../src/runtime/validate-json.js';
import { checkPathText, checkToolId, resolveInsideRoots } from '../../src/runtime/validate-path.js';
import { checkEnvName, checkEnvValue } from '../../src/runtime/validate-env.js';

describe('LogCapture', () => {
  test('keeps the tail within the cap and says it truncated', () => {
    const capture = new LogCapture(10);
    capture.push(Buffer.from('0123456789'));
    expect(capture.truncated).toBe(false);
    capture.push(Buffer.from('abc'));
    expect(capture.text()).toBe('3456789abc');
    expect(capture.truncated).toBe(true);
    capture.push(Buffer.from('x'.repeat(50)));
    expect(capture.text()).toBe('x'.repeat(10));
  });

  test('delivers complete lines across chunks, and a long line in bounded pieces', () => {
    const lines: string[] = [];
    const capture = new LogCapture(1 << 20, (line) => lines.push(line));
    const unlimited = { lines: Infinity, chars: Infinity, untilMs: Infinity };
    capture.push(Buffer.from('he'));
    capture.push(Buffer.from('llo\r\nwor'));
    expect(lines).toEqual([]);
    expect(capture.deliver(unlimited)).toBe(true);
    expect(lines).toEqual(['hello']);
    capture.push(Buffer.from('ld\n'));
    capture.push(Buffer.from('tail'));
    capture.end();
    expect(lines).toEqual(['hello', 'world', 'tail']);
    lines.length = 0;
    capture.push(Buffer.alloc(200 * 1024, 'a'));
    capture.deliver(unlimited);
    expect(lines.length).toBe(1);
    expect(lines[0]!.length).toBe(200 * 1024);
  });

  test('delivers no more lines or characters than the budget, and the rest in order later', () => {
    const lines: string[] = [];
    const capture = new LogCapture(16, (line) => lines.push(line));
    capture.push(Buffer.from('1\n2\n3\n'));
    capture.push(Buffer.from('4\n5\n6'));
    expect(capture.backlog).toBe(11);
    const budget = { lines: 2, chars: 100, untilMs: Infinity };
    expect(capture.deliver(budget)).toBe(false);
    expect(lines).toEqual(['1', '2']);
    expect(budget.lines).toBe(0);
    expect(capture.backlog).toBe(7);
    expect(capture.deliver({ lines: 100, chars: 3, untilMs: Infinity })).toBe(false);
    expect(lines).toEqual(['1', '2', '3', '4']);
    expect(capture.deliver({ lines: 100, chars: 100, untilMs: Infinity })).toBe(true);
    expect(lines).toEqual(['1', '2', '3', '4', '5']);
    expect(capture.backlog).toBe(0);
    capture.end();
    expect(lines).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(capture.text()).toBe('1\n2\n3\n4\n5\n6');
    expect(capture.truncated).toBe(false);
  });
});

describe('SlotQueue', () => {
  test('grants up to the concurrency, queues, rejects when full, and hands slots on', async () => {
    const queue = new SlotQueue(1, 1);
    const signal = new AbortController().signal;
    const first = await queue.acquire(signal);
    const second = queue.acquire(signal);
    await expect(queue.acquire(signal)).rejects.toMatchObject({ reason: 'full' });
    expect(queue.queued).toBe(1);
    first();
    first(); // idempotent
    const release = await second;
    expect(queue.active).toBe(1);
    release();
    expect(queue.active).toBe(0);
  });

  test('a waiter leaves the list when its signal aborts', async () => {
    const queue = new SlotQueue(1, 5);
    const hold = await queue.acquire(new AbortController().signal);
    const controller = new AbortController();
    const waiting = queue.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(QueueRejection);
    expect(queue.queued).toBe(0);
    hold();
    expect(queue.active).toBe(0);
  });
});

describe('validation', () => {
  test.each([
    [{ a: [1, 'x', true, null] }, undefined],
    [{ a: undefined }, undefined],
    [[undefined], '$[0] is undefined'],
    [{ d: new Date(0) }, '$.d is a Date, not a plain object'],
    [Number.POSITIVE_INFINITY, '$ is Infinity (not a finite number)'],
    [{ f: () => 1 }, '$.f is a function'],
  ])('findNonJson(%j)', (value, expected) => {
    expect(findNonJson(value)).toBe(expected);
  });

  test('circular values are found', () => {
    const value: Record<string, unknown> = {};
    value['self'] = value;
    expect(findNonJson(value)).toBe('$.self is a circular reference');
    const shared = { x: 1 };
    expect(findNonJson({ a: shared, b: shared })).toBeUndefined();
  });

  test.each([
    ['tools/echo.ts', undefined],
    ['outils/météo.ts', undefined],
    ['инструменты/погода.ts', undefined],
    ['tools/ech\u043e.ts', 'mixes scripts'],
    ['tools/\u202eevil.ts', 'invisible'],
    ['tools/./echo.ts', undefined],
    ['tools/../echo.ts', '`..`'],
    ['tools/.env', 'starting with a dot'],
    ['ｔｏｏｌｓ/echo.ts', 'compatibility'],
    ['', 'empty'],
    // Printable ASCII takes the short way: its segments are still checked.
    ['tools\\..\\echo.ts', '`..`'],
    ['.hidden/echo.ts', 'starting with a dot'],
    ['tools/my-tool_2.ts', undefined],
    // ASCII that is not printable does not.
    ['tools/echo\u007f.ts', 'invisible'],
    ['tools/\techo.ts', 'invisible'],
  ])('checkPathText(%j)', (path, expected) => {
    const problem = checkPathText(path);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });

  test('paths must stay inside the roots', () => {
    expect(resolveInsideRoots('a/b.ts', '/srv/tools', ['/srv/tools'])).toEqual({
      path: '/srv/tools/a/b.ts',
    });
    expect(resolveInsideRoots('/srv/tools-evil/x.ts', '/srv/tools', ['/srv/tools'])).toHaveProperty(
      'reason',
    );
    expect(resolveInsideRoots('/etc/passwd', '/srv/tools', ['/srv/tools'])).toHaveProperty(
      'reason',
    );
  });

  test('tool ids and env names', () => {
    expect(checkToolId('fetch-weather.v2')).toBeUndefined();
    expect(checkToolId('fetch/weather')).toContain('must match');
    expect(checkToolId('wеather')).toContain('must match');
    expect(checkEnvName('API_BASE')).toBeUndefined();
    for (const blocked of [
      'LD_PRELOAD',
      'LD_LIBRARY_PATH',
      'NODE_OPTIONS',
      'BUN_OPTIONS',
      'DYLD_INSERT_LIBRARIES',
      'BUN_JSC_useJIT',
      'GLIBC_TUNABLES',
    ]) {
      expect(checkEnvName(blocked.toUpperCase())).toContain('blocked');
    }
    expect(checkEnvValue('A', 'x\0y')).toContain('NUL');
    expect(checkEnvValue('A', 'ok value')).toBeUndefined();
  });
});
