import { describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { isToolExecutionError } from '../../src/errors/tool-execution-error.js';
import { parsePermissionFlags, permissionsToFlags } from '../../src/sandbox/flags.js';
import { DEFAULT_LIMITS, resolveLimits, validateLimits } from '../../src/sandbox/limits.js';
import {
  callPermissions,
  resolvePermissions,
  validatePermissions,
} from '../../src/sandbox/permissions.js';

const base = { baseDir: '/work' };

describe('resolvePermissions', () => {
  test('nothing granted by default', () => {
    expect(resolvePermissions()).toEqual({ read: [], write: [], net: false, env: [], run: false });
  });

  test('the tool overrides the defaults field by field; paths are absolute and normalised', () => {
    expect(
      resolvePermissions(
        { read: ['data/../in', '/abs//x/'] },
        { net: true, env: ['A'] },
        undefined,
        base,
      ),
    ).toEqual({ read: ['/work/in', '/abs/x'], write: [], net: true, env: ['A'], run: false });
  });

  test.each([
    ['a read inside a granted read', { read: ['/data/sub'] }, { read: ['/data/sub'] }],
    ['a read inside a granted write', { read: ['/out/x'] }, { read: ['/out/x'] }],
    ['a write inside a granted write', { write: ['/out/x'] }, { write: ['/out/x'] }],
    ['fewer variables', { env: ['A'] }, { env: ['A'] }],
    ['no network', { net: false }, { net: false }],
  ])('a call may narrow: %s', (_name, call, expected) => {
    const tool = { read: ['/data'], write: ['/out'], net: true, env: ['A', 'B'], run: true };
    expect(resolvePermissions(tool, {}, call, base)).toMatchObject(expected);
  });

  test.each([
    ['read', { read: ['/etc'] }, '`read` of /etc'],
    ['read by prefix trick', { read: ['/database'] }, '`read` of /database'],
    ['write inside a read grant', { write: ['/data/x'] }, '`write` of /data/x'],
    ['net', { net: true }, '`net`'],
    ['run', { run: true }, '`run`'],
    ['env', { env: ['SECRET'] }, 'SECRET'],
  ])('a call may not widen %s', (_name, call, named) => {
    const tool = { read: ['/data'], write: ['/out'], env: ['A'] };
    try {
      resolvePermissions(tool, {}, call, { ...base, toolId: 'echo' });
      expect.unreachable();
    } catch (error) {
      expect(isToolExecutionError(error)).toBe(true);
      expect((error as { kind: string }).kind).toBe(ErrorKind.InvalidRequest);
      expect((error as Error).message).toContain(named);
      expect((error as Error).message).toContain('`echo`');
    }
  });

  test('callPermissions returns the requested set when it fits', () => {
    const wide = { read: ['/'], write: ['/tmp/x'], net: true, env: ['A'], run: false };
    const narrow = { read: ['/etc'], write: [], net: false, env: [], run: false };
    expect(callPermissions(wide, narrow)).toEqual(narrow);
  });
});

describe('validatePermissions', () => {
  test.each([
    [null, 'Expected `permissions` to be an object, got `null` (null)'],
    [
      { net: 1 },
      'Expected `permissions.net` to be a boolean or an array of host patterns, got `1` (number)',
    ],
    [{ read: '/x' }, 'Expected `permissions.read` to be an array of paths, got `/x` (string)'],
    [{ read: [''] }, 'Expected `permissions.read[0]` to be a non-empty path without NUL'],
    [{ env: ['A-B'] }, 'Expected `permissions.env[0]` to be a variable name, got `A-B` (string)'],
    [{ network: true }, 'got `network`'],
  ])('%j', (value, message) => {
    expect(() => validatePermissions(value)).toThrow(TypeError);
    expect(() => validatePermissions(value)).toThrow(message);
  });
});

describe('limits', () => {
  test('defaults', () => {
    expect(resolveLimits()).toEqual({
      memoryMb: 512,
      cpuSeconds: undefined,
      maxProcesses: 256,
      maxFileSizeMb: 64,
      tmpMb: 64,
      maxOutputBytes: 10 * 1024 * 1024,
      maxLogBytes: 1024 * 1024,
      maxConnections: 32,
      maxNetworkMb: 256,
      maxOpenFiles: 1024,
      cpus: undefined,
    });
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
  });

  test('tool over defaults; a call only lowers', () => {
    const limits = resolveLimits(
      { memoryMb: 256 },
      { memoryMb: 1024, cpuSeconds: 10 },
      { memoryMb: 4096, cpuSeconds: 2, maxProcesses: 16 },
    );
    expect(limits).toMatchObject({ memoryMb: 256, cpuSeconds: 2, maxProcesses: 16 });
    // The scratch space likewise: the tool's over the defaults, lowered by a call, never raised.
    expect(resolveLimits({ tmpMb: 32 }, { tmpMb: 128 }, { tmpMb: 1024 }).tmpMb).toBe(32);
    expect(resolveLimits({}, { tmpMb: 128 }, { tmpMb: 8 }).tmpMb).toBe(8);
  });

  test('a call may set a CPU limit where there was none', () => {
    expect(resolveLimits({}, {}, { cpuSeconds: 3 }).cpuSeconds).toBe(3);
  });

  test.each([
    [{ memoryMb: -1 }, 'Expected `limits.memoryMb` to be a positive integer, got `-1` (number)'],
    [
      { cpuSeconds: 1.5 },
      'Expected `limits.cpuSeconds` to be a positive integer, got `1.5` (number)',
    ],
    [
      { maxProcesses: '8' },
      'Expected `limits.maxProcesses` to be a positive integer, got `8` (string)',
    ],
    [{ tmpMb: 0 }, 'Expected `limits.tmpMb` to be a positive integer, got `0` (number)'],
    [{ memory: 1 }, 'got `memory`'],
  ])('validateLimits(%j)', (value, message) => {
    expect(() => validateLimits(value)).toThrow(message);
  });
});

describe('permission flags', () => {
  test.each([
    [['--allow-read=/a,/b', '--allow-read=/c'], { read: ['/a', '/b', '/c'] }],
    [['--allow-read'], { read: ['/'] }],
    [['--allow-write=/out'], { write: ['/out'] }],
    [['--allow-net'], { net: true }],
    [['--allow-env=A,B'], { env: ['A', 'B'] }],
    [['--allow-run'], { run: true }],
    [[], { read: [], write: [], net: false, env: [], run: false }],
  ])('%j', (flags, expected) => {
    expect(parsePermissionFlags(flags)).toMatchObject(expected);
  });

  test.each([
    ['--allow-ffi', 'Unknown permission flag `--allow-ffi`'],
    ['--allow-net=http://example.com', '`http://example.com` is not a host pattern'],
    ['--allow-run=git', '`--allow-run=git` is not supported'],
    ['--allow-env', 'needs variable names'],
    ['-A', '`-A` is not supported'],
    ['--allow-all', '`--allow-all` is not supported'],
    ['--allow-read=/a,,/b', 'has an empty entry'],
  ])('%s is refused', (flag, message) => {
    expect(() => parsePermissionFlags([flag])).toThrow(message);
  });

  test('round trip through permissionsToFlags', () => {
    const resolved = resolvePermissions(
      parsePermissionFlags([
        '--allow-read=/a',
        '--allow-write=/b',
        '--allow-net',
        '--allow-env=X',
        '--allow-run',
      ]),
    );
    expect(permissionsToFlags(resolved)).toEqual([
      '--allow-read=/a',
      '--allow-write=/b',
      '--allow-net',
      '--allow-env=X',
      '--allow-run',
    ]);
    expect(permissionsToFlags(resolvePermissions())).toEqual([]);
  });
});
