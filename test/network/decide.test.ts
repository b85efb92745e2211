/**
 * The proxy's decision as a pure function: `decide` only looks names up (a table here, never DNS)
 * and returns the address the proxy would connect to; nothing here opens a connection.
 */
import { describe, expect, test } from 'vitest';
import { decide, type Decision } from '../../src/network/decide.js';
import { normalizeNetworkOptions, type NetworkOptions } from '../../src/network/network-options.js';
import {
  parseHostPattern,
  type HostPattern,
  type Target,
} from '../../src/network/host-patterns.js';
import { targetOfAuthority } from '../../src/network/target.js';

const DNS: Readonly<Record<string, readonly string[]>> = {
  'metadata.example.com': ['169.254.169.254'],
  'both.example.com': ['169.254.169.254', '10.0.0.5'],
  'public-first.example.com': ['192.168.0.9', '93.184.216.34'],
  'aliyun.example.com': ['100.100.100.200'],
  'mapped.example.com': ['::ffff:169.254.169.254'],
  'v6.example.com': ['fe80::1'],
};

function decideFor(
  authority: string,
  allowPrivateAddresses: NetworkOptions['allowPrivateAddresses'],
): Promise<Decision> {
  const parsed = targetOfAuthority(authority);
  if ('problem' in parsed) throw new Error(parsed.problem);
  const target: Target = parsed.target;
  const allow = [parseHostPattern(target.host)] as HostPattern[];
  const options = normalizeNetworkOptions({
    hosts: { 'meta.test': '169.254.169.254', 'db.test': '10.0.0.7' },
    ...(allowPrivateAddresses === undefined ? {} : { allowPrivateAddresses }),
  });
  return decide(target, allow, {
    hosts: options.hosts,
    allowPrivateAddresses: options.allowPrivateAddresses,
    lookup: (name) => Promise.resolve(DNS[name] ?? []),
  });
}

describe('decide under allowPrivateAddresses', () => {
  test.each([
    // Not granted: every restricted class is refused, with the message the proxy has always given.
    ['127.0.0.1:80', undefined, { allowed: false, reason: '127.0.0.1 is a loopback address' }],
    ['db.test:5432', false, { allowed: false, reason: 'resolves to 10.0.0.7, a private address' }],
    ['public-first.example.com:443', false, { allowed: true, address: '93.184.216.34' }],
    // `true`: loopback and private, never link-local or shared.
    ['127.0.0.1:80', true, { allowed: true, address: '127.0.0.1' }],
    ['db.test:5432', true, { allowed: true, address: '10.0.0.7' }],
    [
      'meta.test:80',
      true,
      {
        allowed: false,
        reason:
          'resolves to 169.254.169.254, a link-local address (`allowPrivateAddresses: true` never admits one; list its block)',
      },
    ],
    [
      'metadata.example.com:80',
      true,
      { allowed: false, reason: expect.stringContaining('resolves to 169.254.169.254') as string },
    ],
    ['both.example.com:80', true, { allowed: true, address: '10.0.0.5' }],
    [
      '[::ffff:169.254.169.254]:80',
      true,
      {
        allowed: false,
        reason: expect.stringMatching(/^::ffff:a9fe:a9fe is a link-local address \(/) as string,
      },
    ],
    ['mapped.example.com:80', true, { allowed: false, reason: expect.any(String) as string }],
    ['v6.example.com:80', true, { allowed: false, reason: expect.any(String) as string }],
    [
      'aliyun.example.com:80',
      true,
      {
        allowed: false,
        reason: expect.stringContaining(
          'a shared (carrier-grade NAT) address (`allowPrivateAddresses: true`',
        ) as string,
      },
    ],
    ['0.0.0.0:80', true, { allowed: false, reason: '0.0.0.0 is an unspecified address' }],
    // A list: exactly its blocks; link-local only through a block of link-local addresses.
    ['meta.test:80', ['169.254.169.254'], { allowed: true, address: '169.254.169.254' }],
    [
      'mapped.example.com:80',
      ['169.254.169.254/32'],
      { allowed: true, address: '::ffff:169.254.169.254' },
    ],
    ['v6.example.com:80', ['fe80::/10'], { allowed: true, address: 'fe80::1' }],
    [
      'meta.test:80',
      ['128.0.0.0/1'],
      {
        allowed: false,
        reason:
          'resolves to 169.254.169.254, a link-local address (only a block of link-local addresses in `allowPrivateAddresses` admits one)',
      },
    ],
    [
      '127.0.0.1:80',
      ['10.0.0.0/8'],
      { allowed: false, reason: '127.0.0.1 is a loopback address outside `allowPrivateAddresses`' },
    ],
    ['db.test:5432', ['10.0.0.0/8'], { allowed: true, address: '10.0.0.7' }],
    ['both.example.com:80', ['10.0.0.0/8'], { allowed: true, address: '10.0.0.5' }],
    ['aliyun.example.com:80', ['100.64.0.0/10'], { allowed: true, address: '100.100.100.200' }],
    ['0.0.0.0:80', ['0.0.0.0/8'], { allowed: false, reason: '0.0.0.0 is an unspecified address' }],
  ])('%s under %j', async (authority, grant, expected) => {
    expect(await decideFor(authority, grant)).toEqual(expected);
  });
});
