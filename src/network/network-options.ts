/**
 * The runtime's `network` option: how the egress proxy resolves and which addresses it may reach.
 * Validation throws TypeError on misuse, like every runtime option.
 */
import { describeValue } from '../errors/describe-value.js';
import { parseAddress } from './address-rules.js';
import { formatAddress, hostNameProblem } from './host-patterns.js';
import { parseAddressBlock, type PrivateAddressGrant } from './private-addresses.js';

/** Options of the egress proxy that enforces `permissions.net` allow-lists. All optional. */
export interface NetworkOptions {
  /**
   * Static name → address(es), consulted before DNS, like /etc/hosts (split-horizon setups,
   * tests). The address rules still apply to what a name maps to. @default {}
   */
  readonly hosts?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Let allowed names and addresses reach addresses the proxy otherwise refuses. `true`:
   * loopback and private (10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10), never link-local
   * (169.254/16, fe80::/10: cloud metadata) nor shared (100.64/10). A list of CIDR blocks or
   * addresses (`['10.1.0.0/16', '169.254.169.254']`): exactly those; a link-local address only
   * through a block of link-local addresses. Unspecified, multicast and broadcast addresses stay
   * refused. @default false
   */
  readonly allowPrivateAddresses?: boolean | readonly string[];
  /** A connection through the proxy with no traffic for this long is closed, ms. @default 60000 */
  readonly idleTimeoutMs?: number;
}

/** {@link NetworkOptions} with every default filled in. */
export interface NormalizedNetworkOptions {
  readonly hosts: ReadonlyMap<string, readonly string[]>;
  readonly allowPrivateAddresses: PrivateAddressGrant;
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
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Expected \`${name}\` to have only the keys ${KEYS.map((k) => `\`${k}\``).join(', ')}, got \`${key}\``,
      );
    }
  }
  const allowPrivateAddresses = normalizeGrant(
    value.allowPrivateAddresses,
    `${name}.allowPrivateAddresses`,
  );
  const idleTimeoutMs = value.idleTimeoutMs ?? 60_000;
  if (
    typeof idleTimeoutMs !== 'number' ||
    !Number.isSafeInteger(idleTimeoutMs) ||
    idleTimeoutMs < 1
  ) {
    throw new TypeError(
      `Expected \`${name}.idleTimeoutMs\` to be a positive integer, got ${describeValue(idleTimeoutMs)}`,
    );
  }
  return {
    hosts: normalizeHosts(value.hosts, `${name}.hosts`),
    allowPrivateAddresses,
    idleTimeoutMs,
  };
}

function normalizeGrant(value: unknown, name: string): PrivateAddressGrant {
  if (value === undefined || typeof value === 'boolean') return value ?? false;
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be a boolean or an array of CIDR blocks, got ${describeValue(value)}`,
    );
  }
  const blocks = (value as unknown[]).map((entry, index) => {
    const parsed =
      typeof entry === 'string' ? parseAddressBlock(entry) : { problem: 'is not a string' };
    if ('problem' in parsed) {
      throw new TypeError(
        `Expected \`${name}[${index}]\` to be a CIDR block or an IP address, got ${describeValue(entry)}: it ${parsed.problem}`,
      );
    }
    return parsed;
  });
  return blocks.length === 0 ? false : blocks;
}

function normalizeHosts(value: unknown, name: string): Map<string, readonly string[]> {
  const hosts = new Map<string, readonly string[]>();
  if (value === undefined) return hosts;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be an object of name → address, got ${describeValue(value)}`,
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
        `Expected \`${name}.${host}\` to be an IP address or a non-empty array of them, got ${describeValue(addresses)}`,
      );
    }
    for (const address of list as unknown[]) {
      if (
        typeof address !== 'string' ||
        parseAddress(address) === undefined ||
        address.includes('%')
      ) {
        throw new TypeError(
          `Expected \`${name}.${host}\` to hold IP addresses, got ${describeValue(address)}`,
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
