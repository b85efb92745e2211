import { describe, expect, test } from 'vitest';
import { formatTable, terminalWidth, type Column } from '../../src/cli/table.js';

const widest = (text: string): number => Math.max(...text.split('\n').map((l) => [...l].length));

describe('formatTable', () => {
  test('aligns columns under a rule, two spaces apart, with no trailing spaces', () => {
    const text = formatTable(
      [{ header: 'tool' }, { header: 'ms' }, { header: 'detail' }],
      [
        ['echo', '12', 'ok'],
        ['forever.ts', '501', ''],
      ],
    );
    expect(text.split('\n')).toEqual([
      'tool        ms   detail',
      '----------  ---  ------',
      'echo        12   ok',
      'forever.ts  501',
    ]);
  });

  test('fits the width by cutting a `cut` column, counting characters, not bytes', () => {
    const columns: Column[] = [{ header: 'figure' }, { header: 'detail', shrink: 'cut' }];
    const text = formatTable(columns, [['≤ 1.20×', 'a'.repeat(50)]], { width: 30 });
    expect(text.split('\n')).toEqual([
      'figure   detail',
      '-------  ---------------------',
      `≤ 1.20×  ${'a'.repeat(20)}…`,
    ]);
    expect(widest(text)).toBe(30);
  });

  test('wraps a `wrap` column at spaces, breaking only words longer than the column', () => {
    const text = formatTable(
      [{ header: 'name' }, { header: 'how to fix', shrink: 'wrap' }],
      [
        ['bwrap', 'apt-get install bubblewrap, or run it as root'],
        ['x', 'y'],
      ],
      { width: 24 },
    );
    expect(text.split('\n')).toEqual([
      'name   how to fix',
      '-----  -----------------',
      'bwrap  apt-get install',
      '       bubblewrap, or',
      '       run it as root',
      'x      y',
    ]);
    const long = formatTable([{ header: 'c', shrink: 'wrap' }], [['abcdefghijkl mn']], {
      width: 8,
    });
    expect(long.split('\n').slice(2)).toEqual(['abcdefgh', 'ijkl mn']);
  });

  test('the widest shrinking column gives way first; one that never shrinks keeps its width', () => {
    const columns: Column[] = [
      { header: 'fixed' },
      { header: 'a', shrink: 'cut' },
      { header: 'b', shrink: 'cut' },
    ];
    const row = ['x'.repeat(20), 'a'.repeat(40), 'b'.repeat(12)];
    const [, rule] = formatTable(columns, [row], { width: 60 }).split('\n');
    // 20 + 2 + 24 + 2 + 12: only the widest (a) gave way, to 60 in all.
    expect(rule!.split('  ').map((dashes) => dashes.length)).toEqual([20, 24, 12]);
    const [, narrow] = formatTable(columns, [row], { width: 44 }).split('\n');
    // Both gave way, down to the same width.
    expect(narrow!.split('  ').map((dashes) => dashes.length)).toEqual([20, 10, 10]);
  });

  test('wrapping columns give way before cutting ones (wrapping loses nothing)', () => {
    const columns: Column[] = [
      { header: 'title', shrink: 'wrap' },
      { header: 'detail', shrink: 'cut' },
    ];
    const row = [
      'ignores SIGTERM (deadline 500 ms)',
      'Tool `ignores-sigterm` timed out after 500 ms',
    ];
    const lines = formatTable(columns, [row], { width: 50 }).split('\n');
    // The title is down to its floor (its header, 8 at least) before the detail is cut.
    expect(lines[1]).toBe(`--------  ${'-'.repeat(40)}`);
    expect(lines[2]).toBe(`ignores   ${'Tool `ignores-sigterm` timed out after…'}`);
  });

  test('a table that cannot fit stops at the narrowest its columns allow', () => {
    const text = formatTable(
      [{ header: 'component' }, { header: 'detail', shrink: 'cut' }],
      [['user namespaces', 'bwrap --unshare-user works']],
      { width: 10 },
    );
    // The shrinking column keeps 8 characters; the other its full width.
    expect(text.split('\n')[2]).toBe('user namespaces  bwrap -…');
  });

  test('no width: nothing is cut', () => {
    const detail = 'd'.repeat(300);
    expect(formatTable([{ header: 'd', shrink: 'cut' }], [[detail]])).toContain(detail);
  });
});

test.each([
  { stream: { isTTY: true, columns: 132 }, env: {}, width: 132 },
  { stream: { isTTY: true, columns: 132 }, env: { COLUMNS: '60' }, width: 132 },
  { stream: { isTTY: false }, env: { COLUMNS: '60' }, width: 60 },
  { stream: { isTTY: false }, env: { COLUMNS: 'wide' }, width: 100 },
  { stream: {}, env: {}, width: 100 },
])('terminalWidth($stream, $env) = $width', ({ stream, env, width }) => {
  expect(terminalWidth(stream, env)).toBe(width);
});
