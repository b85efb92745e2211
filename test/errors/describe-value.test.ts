import { expect, test } from 'vitest';
import { describeValue } from '../../src/errors/describe-value.js';

test.each([
  [-1, '`-1` (number)'],
  ['abc', '`abc` (string)'],
  [null, '`null` (null)'],
  [undefined, '`undefined` (undefined)'],
  [[1, 2], '`[1,2]` (array)'],
  [{ a: 1 }, '`{"a":1}` (object)'],
  [10n, '`10` (bigint)'],
  ['x'.repeat(100), `\`${'x'.repeat(57)}...\` (string)`],
])('%#: describeValue(%s)', (value, expected) => {
  expect(describeValue(value)).toBe(expected);
});
