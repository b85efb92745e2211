// The address rules as a pure function: no test here (or anywhere) connects to these addresses.
import { describe, expect, test } from 'vitest';
import { parseAddress, restrictedAddress } from '../../src/network/address-rules.js';
import { formatAddress } from '../../src/network/host-patterns.js';

describe('restrictedAddress', () => {
  test.each([
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.254', 'shared'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fd00::1', 'private'],
    ['fc00::1', 'private'],
    ['fdff:ffff::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a00:1', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:100.64.0.1', 'shared'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::10.0.0.1', 'private'],
    ['::8.8.8.8', 'reserved'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['::ffff:0:a9fe:a9fe', 'link-local'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:8.8.8.8', 'reserved'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b:1::1', 'private'],
    ['2002:a00:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['100::1', 'reserved'],
    // Teredo: its server's IPv4 (bits 32–63) or its client's (the last 32 bits, inverted).
    ['2001:0:a9fe:a9fe::1', 'link-local'],
    ['2001:0:808:808::f5ff:fffe', 'private'],
    ['2001:0:808:808::5601:5601', 'link-local'],
    // Documentation, benchmarking, ORCHID.
    ['2001:db8::1', 'reserved'],
    ['3fff:1::1', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['2001:10::1', 'reserved'],
    ['2001:2f::1', 'reserved'],
    ['[::1]', 'loopback'],
    ['not-an-address', 'reserved'],
    ['', 'reserved'],
    ['1.2.3', 'reserved'],
  ])('%s is %s', (address, expected) => {
    expect(restrictedAddress(address)?.class).toBe(expected);
  });

  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.255.255',
    '192.167.255.255',
    '223.255.255.255',
    '2001:4860:4860::8888',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:0:808:808::f7f7:f7f7',
    '2001:4:112::1',
    '2001:db9::1',
    '3fff:f000::1',
    'fbff::1',
    'fe7f::1',
  ])('%s is public', (address) => {
    expect(restrictedAddress(address)).toBeUndefined();
  });

  test.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::1', '::1'],
    ['fe80::1', 'fe80::1'],
    ['::ffff:169.254.169.254', '169.254.169.254'],
    ['::10.0.0.1', '10.0.0.1'],
    ['::ffff:0:a00:1', '10.0.0.1'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['2002:7f00:1::', '127.0.0.1'],
  ])('%s is judged as %s', (address, judged) => {
    expect(formatAddress(restrictedAddress(address)!.judged)).toBe(judged);
  });

  test('the description names the class for messages', () => {
    expect(restrictedAddress('169.254.169.254')?.description).toBe('a link-local address');
    expect(restrictedAddress('100.64.0.1')?.description).toBe(
      'a shared (carrier-grade NAT) address',
    );
  });
});

describe('parseAddress', () => {
  test.each([
    ['1.2.3.4', [1, 2, 3, 4]],
    ['::1', [...new Array<number>(15).fill(0), 1]],
    ['::ffff:1.2.3.4', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]],
    ['2001:db8::8:1', [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 1]],
    ['1:2:3:4:5:6:7:8', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
  ])('%s', (text, bytes) => {
    expect([...(parseAddress(text) ?? [])]).toEqual(bytes);
  });

  test.each(['01.2.3.4', '1.2.3', '0x7f.0.0.1', '256.1.1.1', 'example.com', '1::2::3'])(
    '%s is not an address',
    (text) => {
      expect(parseAddress(text)).toBeUndefined();
    },
  );
});
