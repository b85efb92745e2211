import { describe, expect, test } from 'vitest';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';

describe('parseCommandLine', () => {
  test('every run flag lands in its field', () => {
    expect(
      parseCommandLine([
        'run',
        't.ts',
        '--json',
        '--export',
        'e',
        '--input',
        '[1]',
        '--config',
        '{"c":2}',
        '--env',
        'A=1=2',
        '--env',
        'B=',
        '--timeout-ms',
        '5',
        '--allow-read',
        '/a,/b',
        '--allow-read',
        '/c',
        '--allow-write',
        '/w',
        '--allow-net',
        '--allow-env',
        'X,Y',
        '--allow-run',
        '--memory-mb',
        '5',
        '--cpu-seconds',
        '2',
        '--max-processes',
        '3',
        '--max-file-size-mb',
        '4',
        '--max-output-bytes',
        '6',
        '--sandbox',
        'none',
      ]),
    ).toEqual({
      command: 'run',
      file: 't.ts',
      exportName: 'e',
      input: [1],
      config: { c: 2 },
      env: { A: '1=2', B: '' },
      timeoutMs: 5,
      permissions: {
        read: ['/a', '/b', '/c'],
        write: ['/w'],
        net: true,
        env: ['X', 'Y'],
        run: true,
      },
      limits: { memoryMb: 5, cpuSeconds: 2, maxProcesses: 3, maxFileSizeMb: 4, maxOutputBytes: 6 },
      network: { hosts: {} },
      sandbox: 'none',
      json: true,
    });
  });

  test('an allow-list, its hosts and its limits', () => {
    expect(
      parseCommandLine([
        'run',
        't.ts',
        '--allow-net=api.example.com,*.cdn.example',
        '--host',
        'api.example.com=127.0.0.1',
        '--allow-private-addresses',
        '--max-connections',
        '3',
        '--max-network-mb',
        '2',
      ]),
    ).toMatchObject({
      permissions: { net: ['api.example.com', '*.cdn.example'] },
      limits: { maxConnections: 3, maxNetworkMb: 2 },
      network: { hosts: { 'api.example.com': ['127.0.0.1'] }, allowPrivateAddresses: true },
    });
  });

  test('the defaults of a bare run', () => {
    expect(parseCommandLine(['run', 't.ts'])).toEqual({
      command: 'run',
      file: 't.ts',
      exportName: undefined,
      input: null,
      config: {},
      env: {},
      timeoutMs: 60_000,
      permissions: { read: [], write: [], net: false, env: [], run: false },
      limits: {},
      network: { hosts: {} },
      sandbox: 'auto',
      json: false,
    });
  });

  test.each([
    [[], { command: 'help' }],
    [['-h'], { command: 'help' }],
    [['--version'], { command: 'version' }],
    [['doctor', '--json'], { command: 'doctor', json: true }],
  ])('%j → %j', (argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected);
  });

  // The first problem in the usage's order is the one reported.
  test.each([
    [['doctor', 'x'], 'doctor takes no arguments but --json, got `x`'],
    [['nope'], 'unknown command `nope` (expected run, build, doctor or worker)'],
    [['run'], 'missing <tool-file>'],
    [['run', 'a.ts', 'b.ts'], 'expected one <tool-file>, got a.ts b.ts'],
    [
      ['run', 't.ts', '--input', '1', '--input-file', 'f'],
      'give --input or --input-file, not both',
    ],
    [['run', 't.ts', '--input', '{bad'], '--input is not valid JSON'],
    [
      ['run', 't.ts', '--sandbox', 'x', '--env', 'noeq'],
      '--sandbox must be auto, bwrap or none, got `x`',
    ],
    [['run', 't.ts', '--env', 'noeq', '--memory-mb', '0'], '--env expects NAME=VALUE, got `noeq`'],
    [
      ['run', 't.ts', '--memory-mb', '0', '--timeout-ms', 'x'],
      '--memory-mb expects a positive integer, got `0`',
    ],
    [['run', 't.ts', '--timeout-ms', '1.5'], '--timeout-ms expects a positive integer, got `1.5`'],
  ])('%j is a usage error: %s', (argv, message) => {
    let error: unknown;
    try {
      parseCommandLine(argv);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain(message);
  });

  test('an unknown flag is a usage error, not ignored; --json anywhere asks for JSON errors', () => {
    expect(() => parseCommandLine(['run', 't.ts', '--bogus'])).toThrow(UsageError);
    expect(() => parseCommandLine(['run', '--json'])).toThrow(
      expect.objectContaining({ json: true }) as Error,
    );
  });
});
