// `network.allowPrivateAddresses` as pure functions: no test here connects to these addresses.
import { describe, expect, test } from 'vitest';
import { restrictedAddress } from '../../src/network/address-rules.js';
import {
  admitRestricted,
  parseAddressBlock,
  type PrivateAddressGrant,
} from '../../src/network/private-addresses.js';

function grantOf(value: boolean | string[]): PrivateAddressGrant {
  if (typeof value === 'boolean') return value;
  return value.map((text) => {
    const block = parseAddressBlock(text);
    if ('problem' in block) throw new Error(`${text} ${block.problem}`);
    return block;
  });
}

function admits(value: boolean | string[], address: string): boolean {
  const restricted = restrictedAddress(address);
  if (restricted === undefined) throw new Error(`${address} is public: no grant decides it`);
  return admitRestricted(grantOf(value), restricted, address).admitted;
}

describe('allowPrivateAddresses: true', () => {
  test.each([
    '127.0.0.1',
    '::1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    'fd00::1',
    'fec0::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    '64:ff9b::a00:1',
  ])('admits %s', (address) => {
    expect(admits(true, address)).toBe(true);
  });

  test.each([
    '169.254.169.254',
    '169.254.0.1',
    'fe80::1',
    'fe80::a9fe:a9fe',
    '::ffff:169.254.169.254',
    '::ffff:0:a9fe:a9fe',
    '64:ff9b::a9fe:a9fe',
    '2002:a9fe:a9fe::1',
    '100.64.0.1',
    '100.100.100.200',
    '0.0.0.0',
    '::',
    '224.0.0.1',
    '255.255.255.255',
    '240.0.0.1',
    '198.18.0.1',
  ])('refuses %s', (address) => {
    expect(admits(true, address)).toBe(false);
  });

  test('names what would admit a link-local address', () => {
    const restricted = restrictedAddress('169.254.169.254')!;
    expect(admitRestricted(true, restricted, '169.254.169.254')).toEqual({
      admitted: false,
      hint: ' (`allowPrivateAddresses: true` never admits one; list its block)',
    });
  });
});

describe('allowPrivateAddresses: a list of blocks', () => {
  test.each([
    [['10.0.0.0/8'], '10.200.0.1', true],
    [['10.0.0.0/8'], '::ffff:10.200.0.1', true],
    [['10.0.0.0/8'], '64:ff9b::a00:1', true],
    [['10.0.0.0/8'], '192.168.0.1', false],
    [['10.0.0.0/8'], '127.0.0.1', false],
    [['10.1.0.0/16'], '10.2.0.1', false],
    [['10.1.2.3'], '10.1.2.3', true],
    [['10.1.2.3'], '10.1.2.4', false],
    [['127.0.0.0/8'], '127.0.0.1', true],
    [['127.0.0.0/8'], '::1', false],
    [['::1'], '::1', true],
    [['fd00::/8'], 'fd12::1', true],
    [['fd00::/8'], 'fc00::1', false],
    [['100.64.0.0/10'], '100.100.100.200', true],
    [['198.18.0.0/15'], '198.18.0.1', true],
    // Link-local: only a block of nothing but link-local addresses admits one.
    [['169.254.169.254/32'], '169.254.169.254', true],
    [['169.254.169.254'], '169.254.169.254', true],
    [['169.254.169.254'], '::ffff:169.254.169.254', true],
    [['169.254.169.254'], '169.254.169.253', false],
    [['169.254.0.0/16'], '169.254.1.1', true],
    [['fe80::/10'], 'fe80::1', true],
    [['fe80::/64'], 'fe80::1', true],
    [['::ffff:169.254.0.0/112'], '::ffff:169.254.169.254', true],
    [['169.254.0.0/15'], '169.254.169.254', false],
    [['169.0.0.0/8'], '169.254.169.254', false],
    [['128.0.0.0/1'], '169.254.169.254', false],
    [['128.0.0.0/1'], '172.16.0.1', true],
    [['fe00::/9', 'fc00::/7'], 'fe80::1', false],
    [['::ffff:0:0/96'], '::ffff:169.254.169.254', false],
    [['::ffff:0:0/96'], '::ffff:10.0.0.1', true],
    [['169.0.0.0/8', '169.254.169.254'], '169.254.169.254', true],
    // Never a destination, whatever the list.
    [['0.0.0.0/8'], '0.0.0.0', false],
    [['224.0.0.0/4'], '224.0.0.1', false],
    [['255.255.255.255'], '255.255.255.255', false],
    [['ff00::/8'], 'ff02::1', false],
  ])('%j: %s admitted %s', (blocks, address, expected) => {
    expect(admits(blocks, address)).toBe(expected);
  });

  test('the hints say why a listed grant did not admit', () => {
    const linkLocal = restrictedAddress('169.254.169.254')!;
    expect(admitRestricted(grantOf(['169.0.0.0/8']), linkLocal, '169.254.169.254')).toEqual({
      admitted: false,
      hint: ' (only a block of link-local addresses in `allowPrivateAddresses` admits one)',
    });
    const loopback = restrictedAddress('127.0.0.1')!;
    expect(admitRestricted(grantOf(['10.0.0.0/8']), loopback, '127.0.0.1')).toEqual({
      admitted: false,
      hint: ' outside `allowPrivateAddresses`',
    });
  });
});

describe('parseAddressBlock', () => {
  test.each([
    ['10.0.0.0/8', 8, false],
    ['10.1.2.3', 32, false],
    ['fd00::/8', 8, false],
    ['::1', 128, false],
    ['169.254.169.254', 32, true],
    ['169.254.0.0/16', 16, true],
    ['169.254.0.0/15', 15, false],
    ['fe80::/10', 10, true],
    ['fe80::/9', 9, false],
    ['::ffff:169.254.0.0/112', 112, true],
  ])('%s: prefix %i, link-local %s', (text, prefix, linkLocal) => {
    expect(parseAddressBlock(text)).toMatchObject({ prefix, linkLocal });
  });

  test.each([
    ['', 'is not an IP address or a CIDR block'],
    ['example.com', 'is not an IP address or a CIDR block'],
    ['10.0.0/8', 'is not an IP address or a CIDR block'],
    ['[::1]', 'is not an IP address or a CIDR block'],
    ['fe80::1%eth0', 'has an IPv6 zone'],
    ['10.0.0.0/33', 'has a prefix length outside 1–32'],
    ['fd00::/129', 'has a prefix length outside 1–128'],
    ['10.0.0.0/', 'has a prefix length outside 1–32'],
    ['10.0.0.0/x', 'has a prefix length outside 1–32'],
    ['0.0.0.0/0', 'admits every address'],
    ['::/0', 'admits every address'],
    ['10.0.0.1/8', 'has bits set after its prefix (the block is `10.0.0.0/8`)'],
    ['169.254.169.254/16', 'the block is `169.254.0.0/16`'],
  ])('%j %s', (text, problem) => {
    const parsed = parseAddressBlock(text);
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });
});
