/**
 * The runtime's `network` option: how the egress proxy resolves and which addresses it may reach.
 * Validation throws TypeError on misuse, like every runtime option.
 */
import { describe } from '../sandbox/permissions.js';
import { parseAddress } from './address-rules.js';
import { formatAddress, hostNameProblem } from './patterns.js';

/** Options of the egress proxy that enforces `permissions.net` allow-lists. All optional. */
export interface NetworkOptions {
  /**
   * Static name → address(es), consulted before DNS, like /etc/hosts (split-horizon setups,
   * tests). The address rules still apply to what a name maps to. @default {}
   */
  readonly hosts?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Let allowed names and addresses reach loopback, private (10/8, 172.16/12, 192.168/16,
   * fc00::/7), link-local (169.254/16, fe80::/10) and shared (100.64/10) addresses. Unspecified,
   * multicast, broadcast and reserved addresses stay refused. @default false
   */
  readonly allowPrivateAddresses?: boolean;
  /** A connection through the proxy with no traffic for this long is closed, ms. @default 60000 */
  readonly idleTimeoutMs?: number;
}

/** {@link NetworkOptions} with every default filled in. */
export interface NormalizedNetworkOptions {
  readonly hosts: ReadonlyMap<string, readonly string[]>;
  readonly allowPrivateAddresses: boolean;
  readonly idleTimeoutMs: number;
}

const KEYS = ['hosts', 'allowPrivateAddresses', 'idleTimeoutMs'] as const;

/** Validates and fills `network` (TypeError on misuse). */
export function normalizeNetworkOptions(
  value: NetworkOptions | undefined,
  name = 'network',
): NormalizedNetworkOptions {
  if (value === undefined)
    return { hosts: new Map(), allowPrivateAddresses: false, idleTimeoutMs: 60_000 };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Expected \`${name}\` to have only the keys ${KEYS.map((k) => `\`${k}\``).join(', ')}, got \`${key}\``,
      );
    }
  }
  const allowPrivateAddresses = value.allowPrivateAddresses ?? false;
  if (typeof allowPrivateAddresses !== 'boolean') {
    throw new TypeError(
      `Expected \`${name}.allowPrivateAddresses\` to be a boolean, got ${describe(allowPrivateAddresses)}`,
    );
  }
  const idleTimeoutMs = value.idleTimeoutMs ?? 60_000;
  if (
    typeof idleTimeoutMs !== 'number' ||
    !Number.isSafeInteger(idleTimeoutMs) ||
    idleTimeoutMs < 1
  ) {
    throw new TypeError(
      `Expected \`${name}.idleTimeoutMs\` to be a positive integer, got ${describe(idleTimeoutMs)}`,
    );
  }
  return {
    hosts: normalizeHosts(value.hosts, `${name}.hosts`),
    allowPrivateAddresses,
    idleTimeoutMs,
  };
}

function normalizeHosts(value: unknown, name: string): Map<string, readonly string[]> {
  const hosts = new Map<string, readonly string[]>();
  if (value === undefined) return hosts;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be an object of name → address, got ${describe(value)}`,
    );
  }
  for (const [host, addresses] of Object.entries(value as Record<string, unknown>)) {
    const key = host.toLowerCase().replace(/\.$/, '');
    const problem = hostNameProblem(key);
    if (problem !== undefined) {
      throw new TypeError(
        `Expected the keys of \`${name}\` to be host names, got \`${host}\`: it ${problem}`,
      );
    }
    const list = typeof addresses === 'string' ? [addresses] : addresses;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(
        `Expected \`${name}.${host}\` to be an IP address or a non-empty array of them, got ${describe(addresses)}`,
      );
    }
    for (const address of list as unknown[]) {
      if (
        typeof address !== 'string' ||
        parseAddress(address) === undefined ||
        address.includes('%')
      ) {
        throw new TypeError(
          `Expected \`${name}.${host}\` to hold IP addresses, got ${describe(address)}`,
        );
      }
    }
    hosts.set(
      key,
      (list as string[]).map((address) => formatAddress(parseAddress(address)!)),
    );
  }
  return hosts;
}
