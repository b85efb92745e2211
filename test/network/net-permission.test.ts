import { describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { parsePermissionFlags, permissionsToFlags } from '../../src/sandbox/flags.js';
import { resolvePermissions, validatePermissions } from '../../src/sandbox/permissions.js';
import { validateRequestTypes } from '../../src/runtime/runtime-options.js';

function refusal(fn: () => unknown): { kind?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { kind?: string; message: string };
  }
  throw new Error('expected a refusal');
}

describe('permissions.net as a list of host patterns', () => {
  test('a list is canonicalised (lower case, duplicates gone); an empty list is no network', () => {
    expect(
      resolvePermissions({ net: ['API.example.com', 'api.example.com', '[::1]'] }).net,
    ).toEqual(['api.example.com', '::1']);
    expect(resolvePermissions({ net: [] }).net).toBe(false);
  });

  test.each([
    ['a list narrows `true`', true, ['api.example.com'], ['api.example.com']],
    ['the same list', ['api.example.com'], ['api.example.com'], ['api.example.com']],
    ['a name under a wildcard', ['*.example.com'], ['a.example.com:443'], ['a.example.com:443']],
    [
      'a port of an any-port name',
      ['api.example.com'],
      ['api.example.com:8443'],
      ['api.example.com:8443'],
    ],
    ['a smaller block', ['10.0.0.0/8'], ['10.1.0.0/16'], ['10.1.0.0/16']],
    ['no network', ['api.example.com'], false, false],
    ['an empty list (no network)', ['api.example.com'], [], false],
  ])('a call may narrow: %s', (_name, tool, call, expected) => {
    expect(resolvePermissions({ net: tool }, {}, { net: call }).net).toEqual(expected);
  });

  test.each([
    ['`true` over a list', ['api.example.com'], true, 'wider than the allow-list'],
    ['a list over no network', false, ['api.example.com'], '`net` is not granted'],
    ['another name', ['api.example.com'], ['evil.example'], 'evil.example is not in'],
    ['the apex of a wildcard', ['*.example.com'], ['example.com'], 'example.com is not in'],
    [
      'any port of a one-port name',
      ['api.example.com:443'],
      ['api.example.com'],
      'api.example.com is not in',
    ],
    ['a larger block', ['10.1.0.0/16'], ['10.0.0.0/8'], '10.0.0.0/8 is not in'],
  ])('a call may not widen: %s', (_name, tool, call, named) => {
    const error = refusal(() =>
      resolvePermissions({ net: tool }, {}, { net: call }, { toolId: 'weather' }),
    );
    expect(error.kind).toBe(ErrorKind.InvalidRequest);
    expect(error.message).toContain(named);
    expect(error.message).toContain('`weather`');
  });

  test("a call's bad pattern is invalid_request naming the entry; a programmer's is a TypeError", () => {
    const call = refusal(() =>
      resolvePermissions(
        { net: true },
        {},
        { net: ['ok.example', 'http://x.example/'] },
        { toolId: 't' },
      ),
    );
    expect(call.kind).toBe(ErrorKind.InvalidRequest);
    expect(call.message).toBe(
      'Invalid request for tool `t`: `permissions.net[1]` is not a host pattern: `http://x.example/` (string) is a URL, not a host (write `api.example.com` or `api.example.com:443`)',
    );
    // The request's types are checked synchronously; its patterns are values, checked later.
    expect(() =>
      validateRequestTypes({ toolId: 't', permissions: { net: ['a b'] } }),
    ).not.toThrow();
    expect(() => validateRequestTypes({ toolId: 't', permissions: { net: [1] as never } })).toThrow(
      TypeError,
    );
    expect(() => validatePermissions({ net: ['ok.example', '*'] }, 'tools.t.permissions')).toThrow(
      /^Expected `tools\.t\.permissions\.net\[1\]` to be a host pattern .*got `\*` \(string\): it has a `\*`/,
    );
  });

  test('flags: --allow-net alone is everything, --allow-net=LIST an allow-list', () => {
    expect(parsePermissionFlags(['--allow-net=a.example,*.cdn.example']).net).toEqual([
      'a.example',
      '*.cdn.example',
    ]);
    expect(parsePermissionFlags(['--allow-net=a.example', '--allow-net=b.example']).net).toEqual([
      'a.example',
      'b.example',
    ]);
    expect(parsePermissionFlags(['--allow-net=a.example', '--allow-net']).net).toBe(true);
    expect(() => parsePermissionFlags(['--allow-net=a.example,'])).toThrow('has an empty entry');
    expect(permissionsToFlags(resolvePermissions({ net: ['B.example', 'a.example:443'] }))).toEqual(
      ['--allow-net=b.example,a.example:443'],
    );
  });
});
