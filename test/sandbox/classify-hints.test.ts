import { rmSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  deniedOperation,
  explainFailure,
  grantHint,
  limitHint,
  signalOfExitCode,
  type ErrorLink,
} from '../../src/sandbox/classify-hints.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';

const none = resolvePermissions();
const e = (link: Partial<ErrorLink>): ErrorLink => ({ name: 'Error', message: '', ...link });

describe('deniedOperation', () => {
  test.each([
    [
      'EACCES on open',
      e({ code: 'EACCES', syscall: 'open', path: '/data/x' }),
      none,
      'read of /data/x',
    ],
    [
      'EROFS on open',
      e({ code: 'EROFS', syscall: 'open', path: '/tools/out' }),
      none,
      'write of /tools/out',
    ],
    ['EPERM on mkdir', e({ code: 'EPERM', syscall: 'mkdir', path: '/x' }), none, 'write of /x'],
    [
      'ENOENT outside the view',
      e({ code: 'ENOENT', syscall: 'open', path: '/etc/passwd' }),
      none,
      'read of /etc/passwd',
    ],
    [
      'ENOENT in a message only',
      e({ code: 'ENOENT', message: "ENOENT: no such file or directory, open '/etc/shadow'" }),
      none,
      'read of /etc/shadow',
    ],
    [
      'ECONNREFUSED',
      e({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8080' }),
      none,
      'connect to 127.0.0.1:8080',
    ],
    [
      'Bun fetch',
      e({
        code: 'ConnectionRefused',
        message: 'Unable to connect. Is the computer able to access the url?',
        path: 'http://127.0.0.1:9/',
      }),
      none,
      'connect to 127.0.0.1:9',
    ],
    [
      'DNS',
      e({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND example.com' }),
      none,
      'connect to example.com',
    ],
    [
      'ENETUNREACH',
      e({ code: 'ENETUNREACH', message: 'connect ENETUNREACH 1.1.1.1:443' }),
      none,
      'connect to 1.1.1.1:443',
    ],
    [
      'Bun.spawn not found',
      e({ code: 'ENOENT', message: 'Executable not found in $PATH: "sh"' }),
      none,
      'spawn of sh',
    ],
    [
      'node spawnSync',
      e({ code: 'ENOENT', syscall: 'spawnSync sh', path: 'sh' }),
      none,
      'spawn of sh',
    ],
    [
      'posix_spawn EPERM',
      e({ code: 'EPERM', message: "EPERM: operation not permitted, posix_spawn '/opt/bun/bun'" }),
      none,
      'spawn of bun',
    ],
    [
      'in a cause',
      e({ message: 'wrapped', cause: e({ code: 'EACCES', syscall: 'open', path: '/secret' }) }),
      none,
      'read of /secret',
    ],
  ])('%s', (_name, error, permissions, expected) => {
    expect(deniedOperation(error, permissions, true)).toBe(expected);
  });

  test.each([
    ['not sandboxed', e({ code: 'EACCES', path: '/x' }), none, false],
    ['no error', undefined, none, true],
    [
      'ENOENT inside a granted path',
      e({ code: 'ENOENT', path: '/data/missing' }),
      resolvePermissions({ read: ['/data'] }),
      true,
    ],
    ['ENOENT in the private /tmp', e({ code: 'ENOENT', path: '/tmp/missing' }), none, true],
    ['ENOENT relative', e({ code: 'ENOENT', path: 'missing.json' }), none, true],
    [
      'a refused connection with net granted',
      e({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }),
      resolvePermissions({ net: true }),
      true,
    ],
    [
      'a missing command with run granted',
      e({ code: 'ENOENT', syscall: 'spawnSync nope', path: 'nope' }),
      resolvePermissions({ run: true }),
      true,
    ],
    ['a plain tool error', e({ name: 'TypeError', message: 'x is not a function' }), none, true],
  ])('not denied: %s', (_name, error, permissions, sandboxed) => {
    expect(deniedOperation(error, permissions, sandboxed)).toBeUndefined();
  });

  test('visible roots given by the runtime (the tool dir) make ENOENT a tool error', () => {
    const error = e({ code: 'ENOENT', path: '/tools/missing.json' });
    expect(deniedOperation(error, none, true, { visible: ['/tools'] })).toBeUndefined();
  });

  describe('a host path under /tmp, hidden by the private /tmp', () => {
    // The host as the classifier asks it: which paths exist there.
    const host = new Set(['/tmp/host-file', '/tmp/host-dir', '/tmp/granted/x', '/tmp/tools/a']);
    const view = { existsOnHost: (path: string) => host.has(path), visible: ['/tmp/tools'] };
    test.each([
      [
        'read of an existing host file',
        e({ code: 'ENOENT', syscall: 'open', path: '/tmp/host-file' }),
        none,
        'read of /tmp/host-file',
      ],
      [
        'in the message only',
        e({ code: 'ENOENT', message: "ENOENT: no such file or directory, open '/tmp/host-file'" }),
        none,
        'read of /tmp/host-file',
      ],
      [
        'a write into an existing host dir',
        e({ code: 'ENOENT', syscall: 'mkdir', path: '/tmp/host-dir/new' }),
        none,
        'write of /tmp/host-dir/new',
      ],
      [
        // Bun names `open` as the syscall of a failed writeFileSync; its stack tells the write.
        'a writeFileSync into an existing host dir',
        e({
          code: 'ENOENT',
          syscall: 'open',
          path: '/tmp/host-dir/new',
          stack:
            "Error: ENOENT: no such file or directory, open '/tmp/host-dir/new'\n    at writeFileSync (unknown)\n    at /tools/t.ts:4:9",
        }),
        none,
        'write of /tmp/host-dir/new',
      ],
    ])('%s is denied', (_name, error, permissions, expected) => {
      expect(deniedOperation(error, permissions, true, view)).toBe(expected);
    });

    test.each([
      [
        'a file missing on the host too (its own /tmp)',
        e({ code: 'ENOENT', syscall: 'open', path: '/tmp/missing' }),
      ],
      [
        'a read below an existing host dir of a file missing there',
        e({ code: 'ENOENT', syscall: 'open', path: '/tmp/host-dir/missing' }),
      ],
      [
        'inside a grant (the host path itself)',
        e({ code: 'ENOENT', syscall: 'open', path: '/tmp/granted/x' }),
      ],
      [
        'inside a visible root (the tool dir)',
        e({ code: 'ENOENT', syscall: 'open', path: '/tmp/tools/a' }),
      ],
    ])('%s stays the tool’s own', (_name, error) => {
      const permissions = resolvePermissions({ read: ['/tmp/granted'] });
      expect(deniedOperation(error, permissions, true, view)).toBeUndefined();
    });

    test('without the sandbox there is no private /tmp', () => {
      const error = e({ code: 'ENOENT', path: '/tmp/host-file' });
      expect(deniedOperation(error, none, false, view)).toBeUndefined();
    });
  });
});

describe('grantHint', () => {
  test.each([
    ['read of /tmp/x', 'grant it with --allow-read /tmp/x (permissions.read)'],
    ['write of /data/out', 'grant it with --allow-write /data/out (permissions.write)'],
    ['connect to 127.0.0.1:80', undefined],
    ['spawn of sh', undefined],
    ['open (EACCES)', undefined],
  ])('%s', (operation, hint) => {
    expect(grantHint(operation)).toBe(hint);
  });
});

describe('explainFailure asks the host about a path under /tmp', () => {
  const sandboxed = {
    sandbox: 'bwrap',
    tmp: { mechanism: 'tmpfs', limitMb: 64 },
  } as unknown as Parameters<typeof explainFailure>[4];
  const report = { memoryExceeded: false, processesExceeded: false };
  const end = { code: 1, signal: null };
  const failed = (error: ErrorLink) => ({ type: 'error', error }) as const;

  test('an existing host file is denied with the grant hint; a missing one is not', () => {
    const path = `/tmp/hint-probe-${process.pid}.txt`;
    const error = failed(e({ code: 'ENOENT', syscall: 'open', path }));
    writeFileSync(path, 'exists on the host');
    try {
      expect(explainFailure(error, end, report, none, sandboxed)).toMatchObject({
        denied: `read of ${path}`,
        grantHint: `grant it with --allow-read ${path} (permissions.read)`,
      });
    } finally {
      rmSync(path);
    }
    expect(explainFailure(error, end, report, none, sandboxed)).toMatchObject({
      denied: undefined,
      grantHint: undefined,
    });
  });
});

describe('limitHint', () => {
  const report = { memoryExceeded: false, processesExceeded: false };
  test.each([
    ['SIGXCPU', { signal: 'SIGXCPU', exitCode: null }, 'cpu'],
    ['bwrap exit 152 (128 + SIGXCPU)', { signal: null, exitCode: 152 }, 'cpu'],
    ['SIGXFSZ', { signal: 'SIGXFSZ', exitCode: null }, 'file_size'],
    ['bwrap exit 153', { signal: null, exitCode: 153 }, 'file_size'],
    ['EFBIG', { signal: null, exitCode: 0, error: e({ code: 'EFBIG' }) }, 'file_size'],
    ['EMFILE', { signal: null, exitCode: 0, error: e({ code: 'EMFILE' }) }, 'open_files'],
  ] as const)('%s', (_name, end, limit) => {
    expect(limitHint({ error: undefined, report, ...end })?.limit).toBe(limit);
  });

  test('EAGAIN on a fork only counts as the process limit when the cgroup refused one', () => {
    const error = e({ code: 'EAGAIN', syscall: 'spawn sh' });
    expect(limitHint({ signal: null, exitCode: 0, error, report })).toBeUndefined();
    expect(
      limitHint({
        signal: null,
        exitCode: 0,
        error,
        report: { ...report, processesExceeded: true },
      })?.limit,
    ).toBe('processes');
  });

  test('ENOSPC in the private /tmp tmpfs is the scratch space limit; elsewhere it is the host’s disk', () => {
    const scratch = {
      limitMb: 64,
      permissions: resolvePermissions({ write: ['/tmp/out', '/data'] }),
    };
    const hint = (error: ErrorLink, withScratch = true) =>
      limitHint({ signal: null, exitCode: 1, error, report, ...(withScratch ? { scratch } : {}) });
    // Bun reports a failed write(2) on a descriptor without a path.
    expect(hint(e({ code: 'ENOSPC', syscall: 'write' }))).toEqual({
      limit: 'disk',
      detail: '64 MiB in /tmp',
    });
    expect(hint(e({ code: 'ENOSPC', syscall: 'open', path: '/tmp/a/b' }))?.limit).toBe('disk');
    expect(hint(e({ code: 'ENOSPC', syscall: 'open', path: '/tmp/out/b' }))).toBeUndefined();
    expect(hint(e({ code: 'ENOSPC', syscall: 'open', path: '/data/b' }))).toBeUndefined();
    // No tmpfs (sandbox: 'none'): the private dir is the host's disk.
    expect(hint(e({ code: 'ENOSPC', syscall: 'write' }), false)).toBeUndefined();
    expect(
      limitHint({
        signal: null,
        exitCode: 1,
        error: e({ code: 'ENOSPC' }),
        report,
        scratch: { ...scratch, limitMb: undefined },
      })?.detail,
    ).toBe('the private /tmp is full');
  });

  test('a plain crash is no limit', () => {
    expect(
      limitHint({ signal: 'SIGSEGV', exitCode: null, error: undefined, report }),
    ).toBeUndefined();
    expect(limitHint({ signal: null, exitCode: 1, error: undefined, report })).toBeUndefined();
  });

  test('signalOfExitCode', () => {
    expect(signalOfExitCode(137)).toBe('SIGKILL');
    expect(signalOfExitCode(1)).toBeUndefined();
    expect(signalOfExitCode(null)).toBeUndefined();
  });
});
