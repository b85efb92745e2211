import { describe, expect, test } from 'vitest';
import { deniedTarget, denialMessage, type Denial } from '../../src/errors/denial.js';
import { errorChain, toErrorLink } from '../../src/errors/error-link.js';

const tool = (denial: Omit<Denial, 'observedBy'>): Denial => ({ ...denial, observedBy: 'tool' });

describe('deniedTarget', () => {
  test.each<[Denial, string]>([
    [tool({ operation: 'read', path: '/etc/shadow', reason: 'r' }), 'read of /etc/shadow'],
    [tool({ operation: 'write', path: '/data/out', reason: 'r' }), 'write of /data/out'],
    [tool({ operation: 'run', command: 'sh', reason: 'r' }), 'spawn of sh'],
    [tool({ operation: 'net', host: '10.0.0.1', port: 80, reason: 'r' }), 'connect to 10.0.0.1:80'],
    [tool({ operation: 'net', host: '::1', port: 80, reason: 'r' }), 'connect to [::1]:80'],
    [tool({ operation: 'net', host: 'example.com', reason: 'r' }), 'connect to example.com'],
    [tool({ operation: 'net', reason: 'r' }), 'connect to the network'],
    [
      tool({ operation: 'net', host: '@probe', reason: 'r' }),
      'connect to the abstract Unix socket @probe',
    ],
    [
      { operation: 'net', host: '@probe', port: 1, reason: 'r', observedBy: 'proxy' },
      'connect to @probe:1',
    ],
  ])('%j', (denial, target) => {
    expect(deniedTarget(denial)).toBe(target);
  });
});

describe('denialMessage', () => {
  test.each<[Denial, string]>([
    [
      {
        operation: 'net',
        host: 'evil.example',
        port: 443,
        reason: 'not in the allow-list',
        observedBy: 'proxy',
      },
      'Tool `t` was denied by the sandbox: connect to evil.example:443: not in the allow-list',
    ],
    [
      tool({ operation: 'read', path: '/etc/shadow', reason: 'outside its sandbox view' }),
      'Tool `t` reported that a read of /etc/shadow was denied (outside its sandbox view); the caller grants reads with permissions.read (--allow-read)',
    ],
    [
      tool({ operation: 'write', path: '/data/x', reason: 'read-only in its sandbox view' }),
      'Tool `t` reported that a write of /data/x was denied (read-only in its sandbox view); the caller grants writes with permissions.write (--allow-write)',
    ],
    [
      tool({ operation: 'run', command: 'sh', reason: 'its sandbox allows no subprocesses' }),
      'Tool `t` reported that a spawn of sh was denied (its sandbox allows no subprocesses); the caller allows subprocesses with permissions.run (--allow-run)',
    ],
    [
      tool({ operation: 'net', host: '1.1.1.1', port: 53, reason: 'its sandbox has no network' }),
      'Tool `t` reported that a connect to 1.1.1.1:53 was denied (its sandbox has no network)',
    ],
  ])('%j', (denial, message) => {
    expect(denialMessage('t', denial)).toBe(message);
  });

  test('a tool’s report never carries a grant of what it named', () => {
    const named = '/home/agent/.ssh/id_ed25519';
    const message = denialMessage(
      't',
      tool({ operation: 'read', path: named, reason: 'outside its sandbox view' }),
    );
    expect(message.split(named)).toHaveLength(2);
    expect(message).not.toMatch(/--allow-read \//);
  });
});

describe('toErrorLink: the tool’s error, whatever it wrote', () => {
  test.each<[unknown, unknown]>([
    [null, { name: 'Error', message: '' }],
    [42, { name: 'Error', message: '' }],
    ['boom', { name: 'Error', message: 'boom' }],
    [
      { name: 7, message: 'm', code: 'EACCES', path: ['/x'], errno: -13 },
      { name: 'Error', message: 'm', code: 'EACCES', errno: -13 },
    ],
    [
      { name: 'E', message: 'outer', cause: { message: 'inner', syscall: 'open' } },
      {
        name: 'E',
        message: 'outer',
        cause: { name: 'Error', message: 'inner', syscall: 'open' },
      },
    ],
  ])('%j', (value, link) => {
    expect(toErrorLink(value)).toEqual(link);
  });

  test('a chain is cut at ten links, however deep the tool made it', () => {
    let deep: Record<string, unknown> = { message: 'bottom' };
    for (let i = 0; i < 50; i++) deep = { message: String(i), cause: deep };
    expect(errorChain(toErrorLink(deep))).toHaveLength(10);
  });
});
