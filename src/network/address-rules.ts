/**
 * Which IP addresses the egress proxy refuses to connect to unless `network.allowPrivateAddresses`
 * admits them (private-addresses.ts): loopback, private, link-local (the cloud metadata address
 * 169.254.169.254), shared (CGNAT), unspecified, multicast, broadcast and reserved ranges, in
 * IPv4 and IPv6, including the IPv6 forms that carry an IPv4 address (mapped, compatible,
 * translated, NAT64, 6to4, Teredo). Pure: no I/O, no DNS.
 */
import { isIP } from 'node:net';

/** Why an address is refused. */
export const AddressClass = {
  Loopback: 'loopback',
  Private: 'private',
  LinkLocal: 'link-local',
  Shared: 'shared',
  Unspecified: 'unspecified',
  Multicast: 'multicast',
  Broadcast: 'broadcast',
  Reserved: 'reserved',
} as const;
export type AddressClass = (typeof AddressClass)[keyof typeof AddressClass];

/** A refused address: its class and how a message names it ("a link-local address"). */
export interface RestrictedAddress {
  readonly class: AddressClass;
  readonly description: string;
  /**
   * The address the class is of: the IPv4 address an IPv6 form carries (mapped, compatible,
   * translated, NAT64, 6to4), else the address itself; empty when the text was no address.
   */
  readonly judged: Uint8Array;
}

type Rule = readonly [network: readonly number[], prefix: number, cls: AddressClass];

// Most specific first where ranges nest (broadcast inside 240/4).
const IPV4_RULES: readonly Rule[] = [
  [[0, 0, 0, 0], 8, AddressClass.Unspecified],
  [[10, 0, 0, 0], 8, AddressClass.Private],
  [[100, 64, 0, 0], 10, AddressClass.Shared],
  [[127, 0, 0, 0], 8, AddressClass.Loopback],
  [[169, 254, 0, 0], 16, AddressClass.LinkLocal],
  [[172, 16, 0, 0], 12, AddressClass.Private],
  [[192, 0, 0, 0], 24, AddressClass.Reserved],
  [[192, 168, 0, 0], 16, AddressClass.Private],
  [[198, 18, 0, 0], 15, AddressClass.Reserved],
  [[224, 0, 0, 0], 4, AddressClass.Multicast],
  [[255, 255, 255, 255], 32, AddressClass.Broadcast],
  [[240, 0, 0, 0], 4, AddressClass.Reserved],
];

const IPV6_RULES: readonly Rule[] = [
  [[0, 0x64, 0xff, 0x9b, 0, 1], 48, AddressClass.Private],
  [[1, 0, 0, 0, 0, 0, 0, 0], 64, AddressClass.Reserved],
  // Documentation (2001:db8::/32, 3fff::/20), benchmarking (2001:2::/48) and ORCHID
  // (2001:10::/28, 2001:20::/28): never a destination on the Internet.
  [[0x20, 0x01, 0x0d, 0xb8], 32, AddressClass.Reserved],
  [[0x3f, 0xff], 20, AddressClass.Reserved],
  [[0x20, 0x01, 0, 0x02, 0, 0], 48, AddressClass.Reserved],
  [[0x20, 0x01, 0, 0x10], 28, AddressClass.Reserved],
  [[0x20, 0x01, 0, 0x20], 28, AddressClass.Reserved],
  [[0xfc], 7, AddressClass.Private],
  [[0xfe, 0x80], 10, AddressClass.LinkLocal],
  [[0xfe, 0xc0], 10, AddressClass.Private],
  [[0xff], 8, AddressClass.Multicast],
];

const DESCRIPTIONS: Readonly<Record<AddressClass, string>> = {
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  shared: 'a shared (carrier-grade NAT) address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
  reserved: 'a reserved address',
};

/**
 * The class of `address` when the proxy must refuse it, or undefined for a public address.
 * `address` is an IPv4 or IPv6 literal (an IPv6 zone is ignored); anything else is `reserved`
 * (refused), so a parsing gap can never turn into an allowed connection.
 */
export function restrictedAddress(address: string): RestrictedAddress | undefined {
  const bytes = parseAddress(address);
  if (bytes === undefined) return restricted(AddressClass.Reserved, new Uint8Array(0));
  if (bytes.length === 4) {
    const cls = classifyV4(bytes);
    return cls === undefined ? undefined : restricted(cls, bytes);
  }
  const embedded = embeddedIPv4(bytes);
  const cls = classifyV6(bytes, embedded);
  return cls === undefined ? undefined : restricted(cls, embedded ?? bytes);
}

/** The bytes of an IPv4 (4) or IPv6 (16) literal; undefined when `text` is neither. */
export function parseAddress(text: string): Uint8Array | undefined {
  const address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zoneless = address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
  switch (isIP(zoneless)) {
    case 4:
      return Uint8Array.from(zoneless.split('.').map(Number));
    case 6:
      return parseV6(zoneless);
    default:
      return undefined;
  }
}

/** True when the first `prefix` bits of `address` equal those of `network`. */
export function inPrefix(address: Uint8Array, network: ArrayLike<number>, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit += 8) {
    const left = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - left)) & 0xff;
    const index = bit / 8;
    if (((address[index] ?? 0) & mask) !== ((network[index] ?? 0) & mask)) return false;
  }
  return true;
}

/** The smallest address of the `prefix`-bit block `bytes` lies in. */
export function networkOf(bytes: Uint8Array, prefix: number): Uint8Array {
  return bytes.map((byte, i) => {
    const left = Math.max(0, Math.min(8, prefix - i * 8));
    return byte & ((0xff << (8 - left)) & 0xff);
  });
}

/** The largest address of the `prefix`-bit block `bytes` lies in. */
export function lastOf(bytes: Uint8Array, prefix: number): Uint8Array {
  return bytes.map((byte, i) => {
    const left = Math.max(0, Math.min(8, prefix - i * 8));
    return byte | (0xff >> left);
  });
}

function restricted(cls: AddressClass, judged: Uint8Array): RestrictedAddress {
  return { class: cls, description: DESCRIPTIONS[cls], judged };
}

function classifyV4(bytes: Uint8Array): AddressClass | undefined {
  return IPV4_RULES.find(([network, prefix]) => inPrefix(bytes, network, prefix))?.[2];
}

function classifyV6(bytes: Uint8Array, embedded: Uint8Array | undefined): AddressClass | undefined {
  const zeros = (from: number, to: number): boolean => bytes.subarray(from, to).every((b) => !b);
  if (zeros(0, 15) && bytes[15] === 0) return AddressClass.Unspecified;
  if (zeros(0, 15) && bytes[15] === 1) return AddressClass.Loopback;
  if (embedded !== undefined) {
    // A compatible (::a.b.c.d, deprecated) or translated (::ffff:0:a.b.c.d) form of a public
    // IPv4 address is still not a real IPv6 destination.
    const reservedForm = zeros(0, 12) || (zeros(0, 8) && bytes[8] === 0xff && bytes[9] === 0xff);
    return classifyV4(embedded) ?? (reservedForm ? AddressClass.Reserved : undefined);
  }
  // Teredo (2001::/32) reaches its server's IPv4 address (bits 32–63) and its client's (the
  // last 32 bits, inverted): refused when either is.
  if (inPrefix(bytes, [0x20, 0x01, 0, 0], 32)) {
    return classifyV4(bytes.slice(4, 8)) ?? classifyV4(bytes.slice(12).map((b) => b ^ 0xff));
  }
  return IPV6_RULES.find(([network, prefix]) => inPrefix(bytes, network, prefix))?.[2];
}

// The IPv4 address an IPv6 address reaches, whose class then decides: ::ffff:a.b.c.d (mapped)
// and ::a.b.c.d (compatible) the kernel may reach directly; ::ffff:0:a.b.c.d (SIIT, RFC 7915),
// 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) a translator or relay reaches.
function embeddedIPv4(bytes: Uint8Array): Uint8Array | undefined {
  const zeros = (from: number, to: number): boolean => bytes.subarray(from, to).every((b) => !b);
  const ffff = (at: number): boolean => bytes[at] === 0xff && bytes[at + 1] === 0xff;
  if (zeros(0, 15) && (bytes[15] ?? 0) <= 1) return undefined; // :: and ::1 are IPv6's own
  if (zeros(0, 10) && ffff(10)) return bytes.slice(12);
  if (zeros(0, 12)) return bytes.slice(12);
  if (zeros(0, 8) && ffff(8) && zeros(10, 12)) return bytes.slice(12);
  if (inPrefix(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) return bytes.slice(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return undefined;
}

// An IPv6 literal already accepted by isIP (so well-formed): groups, `::`, a dotted IPv4 tail.
function parseV6(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    tail.push(
      ...body
        .slice(lastColon + 1)
        .split('.')
        .map(Number),
    );
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = body.split('::');
  const groups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => parseInt(group, 16));
  const front = groups(head);
  const back = rest === undefined ? [] : groups(rest);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  all.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}
