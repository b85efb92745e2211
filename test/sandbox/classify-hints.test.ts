import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Denial } from '../../src/errors/denial.js';
import type { ErrorLink } from '../../src/errors/error-link.js';
import type { NetworkActivity } from '../../src/network/ledger.js';
import { explainThroughSandbox } from '../../src/sandbox/classify-hints.js';
import { explainingDenial, proxyDenial, reportedDenial } from '../../src/sandbox/denials.js';
import { limitHint, signalOfExitCode } from '../../src/sandbox/limit-hints.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';
import { placeInView } from '../../src/sandbox/sandbox-view.js';

const none = resolvePermissions();
const e = (link: Partial<ErrorLink>): ErrorLink => ({ name: 'Error', message: '', ...link });
const byTool = (denial: Omit<Denial, 'observedBy'>): Denial => ({ ...denial, observedBy: 'tool' });
const outside = 'outside its sandbox view';
const noNetwork = 'its sandbox has no network';
const noRun = 'its sandbox allows no subprocesses';

describe('reportedDenial: the tool’s error, confirmed by the plan alone', () => {
  test.each([
    [
      'EACCES on open',
      e({ code: 'EACCES', syscall: 'open', path: '/data/x' }),
      none,
      byTool({ operation: 'read', path: '/data/x', reason: outside }),
    ],
    [
      'EROFS on open',
      e({ code: 'EROFS', syscall: 'open', path: '/tools/out' }),
      none,
      byTool({ operation: 'write', path: '/tools/out', reason: outside }),
    ],
    [
      'EPERM on mkdir',
      e({ code: 'EPERM', syscall: 'mkdir', path: '/x' }),
      none,
      byTool({ operation: 'write', path: '/x', reason: outside }),
    ],
    [
      'ENOENT outside the view',
      e({ code: 'ENOENT', syscall: 'open', path: '/etc/passwd' }),
      none,
      byTool({ operation: 'read', path: '/etc/passwd', reason: outside }),
    ],
    [
      'ENOENT in a message only',
      e({ code: 'ENOENT', message: "ENOENT: no such file or directory, open '/etc/shadow'" }),
      none,
      byTool({ operation: 'read', path: '/etc/shadow', reason: outside }),
    ],
    [
      'a path that climbs out of /tmp is judged where it lands',
      e({ code: 'EACCES', syscall: 'open', path: '/tmp/../etc/shadow' }),
      none,
      byTool({ operation: 'read', path: '/etc/shadow', reason: outside }),
    ],
    [
      'a write to a read-only grant',
      e({ code: 'EROFS', syscall: 'open', path: '/data/out' }),
      resolvePermissions({ read: ['/data'] }),
      byTool({ operation: 'write', path: '/data/out', reason: 'read-only in its sandbox view' }),
    ],
    [
      'a read grant under the private /tmp is read-only',
      e({ code: 'EROFS', syscall: 'mkdir', path: '/tmp/ro/new' }),
      resolvePermissions({ read: ['/tmp/ro'] }),
      byTool({ operation: 'write', path: '/tmp/ro/new', reason: 'read-only in its sandbox view' }),
    ],
    [
      'ECONNREFUSED',
      e({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8080' }),
      none,
      byTool({ operation: 'net', host: '127.0.0.1', port: 8080, reason: noNetwork }),
    ],
    [
      'ECONNREFUSED to IPv6',
      e({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED [::1]:80' }),
      none,
      byTool({ operation: 'net', host: '::1', port: 80, reason: noNetwork }),
    ],
    [
      'Bun fetch',
      e({
        code: 'ConnectionRefused',
        message: 'Unable to connect. Is the computer able to access the url?',
        path: 'http://127.0.0.1:9/',
      }),
      none,
      byTool({ operation: 'net', host: '127.0.0.1', port: 9, reason: noNetwork }),
    ],
    [
      'DNS',
      e({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND example.com' }),
      none,
      byTool({ operation: 'net', host: 'example.com', reason: noNetwork }),
    ],
    [
      'around the egress proxy of an allow-list',
      e({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 1.1.1.1:443' }),
      resolvePermissions({ net: ['api.example.com'] }),
      byTool({
        operation: 'net',
        host: '1.1.1.1',
        port: 443,
        reason: 'no route out of the sandbox but its egress proxy at HTTP_PROXY',
      }),
    ],
    [
      'an abstract Unix socket',
      e({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED \0toolcage-probe' }),
      none,
      byTool({ operation: 'net', host: '@toolcage-probe', reason: noNetwork }),
    ],
    [
      'Bun.spawn not found',
      e({ code: 'ENOENT', message: 'Executable not found in $PATH: "sh"' }),
      none,
      byTool({ operation: 'run', command: 'sh', reason: noRun }),
    ],
    [
      'node spawnSync',
      e({ code: 'ENOENT', syscall: 'spawnSync sh', path: 'sh' }),
      none,
      byTool({ operation: 'run', command: 'sh', reason: noRun }),
    ],
    [
      'posix_spawn EPERM',
      e({ code: 'EPERM', message: "EPERM: operation not permitted, posix_spawn '/opt/bun/bun'" }),
      none,
      byTool({ operation: 'run', command: 'bun', reason: noRun }),
    ],
    [
      'in a cause',
      e({ message: 'wrapped', cause: e({ code: 'EACCES', syscall: 'open', path: '/secret' }) }),
      none,
      byTool({ operation: 'read', path: '/secret', reason: outside }),
    ],
  ])('%s', (_name, error, permissions, expected) => {
    expect(reportedDenial(error, permissions, true)).toEqual(expected);
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
    [
      'EACCES on a read inside a grant (the host’s answer)',
      e({ code: 'EACCES', syscall: 'open', path: '/data/secret' }),
      resolvePermissions({ read: ['/data'] }),
      true,
    ],
    [
      'EACCES on a write inside a write grant (the host’s answer)',
      e({ code: 'EACCES', syscall: 'mkdir', path: '/data/x' }),
      resolvePermissions({ write: ['/data'] }),
      true,
    ],
    ['ENOENT in the private /tmp', e({ code: 'ENOENT', path: '/tmp/missing' }), none, true],
    ['EACCES in /proc', e({ code: 'EACCES', syscall: 'open', path: '/proc/1/mem' }), none, true],
    ['EACCES naming no path', e({ code: 'EACCES', syscall: 'open' }), none, true],
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
    expect(reportedDenial(error, permissions, sandboxed)).toBeUndefined();
  });

  test('visible roots given by the runtime (the tool dir) make ENOENT a tool error; its masks do not', () => {
    const view = { visible: ['/tools'], masked: ['/tools/.env'] };
    const missing = e({ code: 'ENOENT', path: '/tools/missing.json' });
    expect(reportedDenial(missing, none, true, view)).toBeUndefined();
    const masked = e({ code: 'EACCES', syscall: 'open', path: '/tools/.env' });
    expect(reportedDenial(masked, none, true, view)).toEqual(
      byTool({ operation: 'read', path: '/tools/.env', reason: outside }),
    );
  });
});

describe('placeInView', () => {
  const permissions = resolvePermissions({
    read: ['/data', '/tmp/in'],
    write: ['/data/out'],
    run: false,
  });
  test.each([
    ['/etc/shadow', 'outside'],
    ['/', 'outside'],
    ['/data/x', 'read-only'],
    ['/data/out/x', 'writable'],
    ['/tmp/x', 'writable'],
    ['/tmp/in/x', 'read-only'],
    ['/tools/t.ts', 'read-only'],
    ['/tools/.env', 'outside'],
    ['/proc/self/environ', 'kernel'],
    ['/usr/bin/sh', 'outside'],
  ] as const)('%s is %s', (path, placement) => {
    expect(placeInView(path, permissions, { visible: ['/tools'], masked: ['/tools/.env'] })).toBe(
      placement,
    );
  });

  test('with `run` the system directories are visible, read-only', () => {
    expect(placeInView('/usr/bin/sh', resolvePermissions({ run: true }))).toBe('read-only');
  });
});

describe('the egress proxy’s refusals', () => {
  const activity = (lastDenial: NetworkActivity['lastDenial']): NetworkActivity => ({
    allowed: 0,
    denied: 1,
    deniedByPolicy: 1,
    denials: lastDenial === undefined ? [] : [lastDenial],
    lastDenial,
    limit: undefined,
  });
  const refusal = {
    host: 'evil.example',
    port: 443,
    reason: 'not in the allow-list',
    message: 'connect to evil.example:443: not in the allow-list',
    at: 0,
  };
  const observed: Denial = {
    operation: 'net',
    host: 'evil.example',
    port: 443,
    reason: 'not in the allow-list',
    observedBy: 'proxy',
  };

  test('the ledger’s last refusal is the denial, as data', () => {
    expect(proxyDenial(activity(refusal))).toEqual(observed);
    expect(proxyDenial(activity(undefined))).toBeUndefined();
    expect(proxyDenial(undefined)).toBeUndefined();
  });

  test.each([
    ['nothing reported', undefined, observed],
    ['a connection reported', byTool({ operation: 'net', host: 'x', reason: 'y' }), observed],
    [
      'a path reported',
      byTool({ operation: 'read', path: '/x', reason: outside }),
      byTool({ operation: 'read', path: '/x', reason: outside }),
    ],
  ] as const)('what the proxy saw comes first: %s', (_name, reported, expected) => {
    expect(explainingDenial(reported, observed)).toEqual(expected);
  });
});

describe('explainThroughSandbox never asks the host', () => {
  const sandboxed = {
    sandbox: 'bwrap',
    tmp: { mechanism: 'tmpfs', limitMb: 64 },
    memory: { mechanism: 'cgroup-v1', limitMb: 512 },
  } as unknown as Parameters<typeof explainThroughSandbox>[4];
  const report = { memoryExceeded: false, processesExceeded: false };
  const end = { code: 1, signal: null };
  const failed = (error: ErrorLink) => ({ type: 'error', error }) as const;

  // The host-path oracle: an existing and a missing host path must give the same answer.
  // A host file outside /tmp, wherever the checkout lies (CI may clone under /tmp).
  const repoFile = '/etc/passwd';
  test.each([
    ['under /tmp (the tool’s own /tmp inside), a read', 'ENOENT', 'open', true],
    ['under /tmp, a write', 'ENOENT', 'mkdir', true],
    ['elsewhere, EACCES', 'EACCES', 'open', false],
    ['elsewhere, ENOENT', 'ENOENT', 'open', false],
  ])(
    'a path %s: the same answer whether it exists on the host or not',
    (_name, code, syscall, inTmp) => {
      const dir = inTmp ? mkdtempSync('/tmp/hint-probe-') : undefined;
      try {
        const existing = dir === undefined ? repoFile : join(dir, 'exists.txt');
        if (dir !== undefined) writeFileSync(existing, 'exists on the host');
        const missing = `${existing}.missing`;
        const explain = (path: string) =>
          explainThroughSandbox(failed(e({ code, syscall, path })), end, report, none, sandboxed);
        const seen = explain(existing);
        const unseen = explain(missing);
        // Equal but for the path itself.
        const renamed = unseen.denial && { ...unseen.denial, path: existing };
        expect({ ...unseen, denial: renamed }).toEqual(seen);
        expect(seen.denial === undefined).toBe(inTmp);
      } finally {
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test('a host path under /tmp is the tool’s own /tmp inside: no denial', () => {
    const error = failed(e({ code: 'ENOENT', syscall: 'open', path: '/tmp/host-file' }));
    expect(explainThroughSandbox(error, end, report, none, sandboxed).denial).toBeUndefined();
  });

  test('the tool’s error is read whatever it is (null, numbers)', () => {
    const odd = { type: 'error', error: { name: 5, message: null, cause: 7 } } as never;
    expect(explainThroughSandbox(odd, end, report, none, sandboxed)).toEqual({
      denial: undefined,
      limitHit: undefined,
      limitDetail: undefined,
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
