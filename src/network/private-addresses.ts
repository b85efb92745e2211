/**
 * `network.allowPrivateAddresses`: which of the addresses address-rules.ts refuses the egress
 * proxy may connect to after all. `true` admits loopback and the private ranges, never
 * link-local (169.254/16, fe80::/10: the cloud metadata endpoints) nor shared (100.64/10, CGNAT,
 * where some clouds put theirs: Alibaba's is 100.100.100.200). A list of CIDR blocks admits
 * exactly those blocks; a link-local address only through a block that holds nothing but
 * link-local addresses (`169.254.169.254/32`), never through a wider one that happens to
 * contain it. Unspecified, multicast and broadcast addresses are never a destination. Pure.
 */
import {
  AddressClass,
  inPrefix,
  lastOf,
  networkOf,
  parseAddress,
  restrictedAddress,
  type RestrictedAddress,
} from './address-rules.js';
import { formatAddress } from './host-patterns.js';

/** One block of an `allowPrivateAddresses` list. */
export interface AddressBlock {
  /** 4 or 16 bytes: the network address. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
  /** Every address of the block is link-local: the only kind of block that admits one. */
  readonly linkLocal: boolean;
}

/** The normalized grant: none, `true`, or blocks (never an empty list: that is `false`). */
export type PrivateAddressGrant = boolean | readonly AddressBlock[];

/** Why the grant admits `restricted` (a class address-rules.ts refuses), or why not. */
export type Admission =
  { readonly admitted: true } | { readonly admitted: false; readonly hint: string };

// What `true` admits.
const TRUE_CLASSES: ReadonlySet<AddressClass> = new Set([
  AddressClass.Loopback,
  AddressClass.Private,
]);
// Never a destination: `0.0.0.0` reaches the host itself on Linux.
const NEVER: ReadonlySet<AddressClass> = new Set([
  AddressClass.Unspecified,
  AddressClass.Multicast,
  AddressClass.Broadcast,
]);

/**
 * Parses one entry of the list: a CIDR block (`10.0.0.0/8`, `fd00::/8`) or one address
 * (`169.254.169.254`, a block of one). Returns the problem (a phrase) when it is neither.
 */
export function parseAddressBlock(text: string): AddressBlock | { readonly problem: string } {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const bytes = parseAddress(address);
  if (bytes === undefined || address.startsWith('[')) {
    return { problem: 'is not an IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`)' };
  }
  if (address.includes('%')) return { problem: 'has an IPv6 zone (`%…`)' };
  const max = bytes.length * 8;
  const bits = slash === -1 ? String(max) : text.slice(slash + 1);
  const prefix = /^[0-9]{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return { problem: `has a prefix length outside 1–${max}` };
  if (prefix === 0) {
    return { problem: 'admits every address (list the blocks meant, `10.0.0.0/8`…)' };
  }
  const network = networkOf(bytes, prefix);
  if (network.some((byte, i) => byte !== bytes[i])) {
    return {
      problem: `has bits set after its prefix (the block is \`${formatAddress(network)}/${prefix}\`)`,
    };
  }
  return { bytes, prefix, linkLocal: onlyLinkLocal(bytes, prefix) };
}

/** Whether `grant` lets the proxy connect to `restricted` anyway, and if not, what would. */
export function admitRestricted(
  grant: PrivateAddressGrant,
  restricted: RestrictedAddress,
  address: string,
): Admission {
  const cls = restricted.class;
  if (NEVER.has(cls)) return { admitted: false, hint: '' };
  if (grant === false) return { admitted: false, hint: '' };
  if (grant === true) {
    return TRUE_CLASSES.has(cls)
      ? { admitted: true }
      : {
          admitted: false,
          hint: ' (`allowPrivateAddresses: true` never admits one; list its block)',
        };
  }
  const bytes = parseAddress(address);
  const holding = grant.filter(
    (block) => contains(block, bytes) || contains(block, restricted.judged),
  );
  if (holding.length === 0) return { admitted: false, hint: ' outside `allowPrivateAddresses`' };
  if (cls === AddressClass.LinkLocal && !holding.some((block) => block.linkLocal)) {
    return {
      admitted: false,
      hint: ' (only a block of link-local addresses in `allowPrivateAddresses` admits one)',
    };
  }
  return { admitted: true };
}

function contains(block: AddressBlock, address: Uint8Array | undefined): boolean {
  return (
    address !== undefined &&
    address.length === block.bytes.length &&
    inPrefix(address, block.bytes, block.prefix)
  );
}

// A block holds only link-local addresses when its first and last ones are: no block aligned on
// its size starts in one link-local range (169.254/16, fe80::/10, their IPv6 forms) and ends in
// another.
function onlyLinkLocal(bytes: Uint8Array, prefix: number): boolean {
  const linkLocal = (address: Uint8Array): boolean =>
    restrictedAddress(formatAddress(address))?.class === AddressClass.LinkLocal;
  return linkLocal(networkOf(bytes, prefix)) && linkLocal(lastOf(bytes, prefix));
}
