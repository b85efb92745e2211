import { EGRESS_ARG } from '../../src/network/in-sandbox.js';
import { EGRESS_FLAG } from '../../src/runtime/worker/protocol.js';
// The runtime's `network` option: defaults, and a TypeError naming what was wrong.
import { describe, expect, test } from 'vitest';
import { createToolRuntime } from '../../src/runtime/runtime.js';
import { normalizeNetworkOptions, type NetworkOptions } from '../../src/network/network-options.js';

describe('normalizeNetworkOptions', () => {
  test('fills the defaults', () => {
    expect(normalizeNetworkOptions(undefined)).toEqual({
      hosts: new Map(),
      allowPrivateAddresses: false,
      idleTimeoutMs: 60_000,
    });
  });

  test('allowPrivateAddresses: a boolean as is, a list as blocks, an empty list as false', () => {
    expect(normalizeNetworkOptions({ allowPrivateAddresses: true }).allowPrivateAddresses).toBe(
      true,
    );
    expect(normalizeNetworkOptions({ allowPrivateAddresses: [] }).allowPrivateAddresses).toBe(
      false,
    );
    const grant = normalizeNetworkOptions({
      allowPrivateAddresses: ['10.0.0.0/8', '169.254.169.254', 'fd00::/8'],
    }).allowPrivateAddresses;
    expect(grant).toEqual([
      { bytes: Uint8Array.from([10, 0, 0, 0]), prefix: 8, linkLocal: false },
      { bytes: Uint8Array.from([169, 254, 169, 254]), prefix: 32, linkLocal: true },
      { bytes: expect.any(Uint8Array) as Uint8Array, prefix: 8, linkLocal: false },
    ]);
  });

  test('hosts: names lower case, addresses canonical', () => {
    const { hosts } = normalizeNetworkOptions({
      hosts: { 'API.Example.': ['::FFFF:127.0.0.1', '10.0.0.1'], 'b.test': '0:0::1' },
    });
    expect([...hosts]).toEqual([
      ['api.example', ['::ffff:7f00:1', '10.0.0.1']],
      ['b.test', ['::1']],
    ]);
  });

  test.each([
    [[], 'Expected `network` to be an object, got `[]` (array)'],
    [{ allowPrivate: true }, 'Expected `network` to have only the keys'],
    [
      { allowPrivateAddresses: 'yes' },
      'Expected `network.allowPrivateAddresses` to be a boolean or an array of CIDR blocks, got `yes` (string)',
    ],
    [
      { allowPrivateAddresses: '10.0.0.0/8' },
      'Expected `network.allowPrivateAddresses` to be a boolean or an array of CIDR blocks, got `10.0.0.0/8` (string)',
    ],
    [
      { allowPrivateAddresses: ['10.0.0.0/8', 7] },
      'Expected `network.allowPrivateAddresses[1]` to be a CIDR block or an IP address, got `7` (number): it is not a string',
    ],
    [
      { allowPrivateAddresses: ['10.0.0.1/8'] },
      'Expected `network.allowPrivateAddresses[0]` to be a CIDR block or an IP address, got `10.0.0.1/8` (string): it has bits set after its prefix (the block is `10.0.0.0/8`)',
    ],
    [
      { allowPrivateAddresses: ['internal.example'] },
      'got `internal.example` (string): it is not an IP address or a CIDR block',
    ],
    [{ allowPrivateAddresses: ['0.0.0.0/0'] }, 'it admits every address'],
    [{ idleTimeoutMs: 0 }, 'Expected `network.idleTimeoutMs` to be a positive integer, got `0`'],
    [{ hosts: { 'a.test': 'nowhere' } }, 'Expected `network.hosts.a.test` to hold IP addresses'],
    [{ hosts: { 'a.test': [] } }, 'to be an IP address or a non-empty array of them'],
    [{ hosts: { 'bad name': '10.0.0.1' } }, 'to be host names, got `bad name`'],
  ])('%j is a TypeError', (value, message) => {
    expect(() => normalizeNetworkOptions(value as NetworkOptions)).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        message: expect.stringContaining(message) as string,
      }) as Error,
    );
  });

  test('createToolRuntime throws the TypeError before anything starts', () => {
    expect(() =>
      createToolRuntime({ network: { allowPrivateAddresses: ['169.254.169.254/8'] } }),
    ).toThrow(/`network\.allowPrivateAddresses\[0\]`.*bits set after its prefix/);
  });
});

describe('the egress flag', () => {
  test('network/in-sandbox.ts builds the flag the worker reads (runtime/worker/protocol.ts)', () => {
    expect(EGRESS_ARG.startsWith(EGRESS_FLAG)).toBe(true);
  });
});
