/**
 * The egress proxy's decision for one connection: is the target in the allow-list, which address
 * does its name resolve to, and may the proxy connect there. The address returned is the one the
 * proxy connects to — the name is never looked up a second time, so a DNS answer that changes
 * between the check and the connection (DNS rebinding) cannot move the connection.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { restrictedAddress } from './address-rules.js';
import { patternAllows, type HostPattern, type Target } from './host-patterns.js';
import { admitRestricted, type PrivateAddressGrant } from './private-addresses.js';

/** Resolves a name to its addresses (IPv4 and IPv6 literals). */
export type Lookup = (name: string) => Promise<readonly string[]>;

/** What the decision depends on besides the allow-list. */
export interface NetworkPolicy {
  /** Static name → addresses (`network.hosts`), consulted before DNS. */
  readonly hosts: ReadonlyMap<string, readonly string[]>;
  /** Which refused addresses may be connected to after all (`network.allowPrivateAddresses`). */
  readonly allowPrivateAddresses: PrivateAddressGrant;
  readonly lookup: Lookup;
}

/** Allowed, with the exact address to connect to; or refused, with why. */
export type Decision =
  | { readonly allowed: true; readonly address: string }
  | { readonly allowed: false; readonly reason: string };

// Names that never resolve through DNS (RFC 2606, RFC 6761; `.local` is multicast DNS on the
// host's own network): refused unless `network.hosts` maps them.
const RESERVED_SUFFIXES = ['test', 'invalid', 'example', 'local'];
const LOCALHOST = ['127.0.0.1', '::1'];
const LOOKUP_TIMEOUT_MS = 5_000;

/** Decides one connection to `target` under `allow`. Never throws. */
export async function decide(
  target: Target,
  allow: readonly HostPattern[],
  policy: NetworkPolicy,
): Promise<Decision> {
  if (!allow.some((pattern) => patternAllows(pattern, target))) {
    return { allowed: false, reason: 'not in the allow-list' };
  }
  const literal = target.address !== undefined;
  let addresses: readonly string[];
  if (literal) addresses = [target.host];
  else {
    const resolved = await resolveName(target.host, policy);
    if (typeof resolved === 'string') return { allowed: false, reason: resolved };
    addresses = resolved;
  }
  let refusal: string | undefined;
  for (const address of addresses) {
    const restricted = restrictedAddress(address);
    if (restricted === undefined) return { allowed: true, address };
    const admission = admitRestricted(policy.allowPrivateAddresses, restricted, address);
    if (admission.admitted) return { allowed: true, address };
    refusal ??= literal
      ? `${address} is ${restricted.description}${admission.hint}`
      : `resolves to ${address}, ${restricted.description}${admission.hint}`;
  }
  return { allowed: false, reason: refusal ?? 'resolves to no address' };
}

/** The default resolver: the system's (getaddrinfo), every address, in its order. */
export const systemLookup: Lookup = async (name) =>
  (await dnsLookup(name, { all: true, verbatim: true })).map((entry) => entry.address);

// The addresses of a name, or why it has none.
async function resolveName(
  name: string,
  policy: NetworkPolicy,
): Promise<readonly string[] | string> {
  const mapped = policy.hosts.get(name);
  if (mapped !== undefined) return mapped;
  if (name === 'localhost' || name.endsWith('.localhost')) return LOCALHOST;
  const tld = name.slice(name.lastIndexOf('.') + 1);
  if (RESERVED_SUFFIXES.includes(tld)) {
    return `does not resolve (\`.${tld}\` is a reserved name; map it in \`network.hosts\`)`;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const addresses = await Promise.race([
      policy.lookup(name),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), LOOKUP_TIMEOUT_MS);
      }),
    ]);
    const valid = addresses.filter((address) => isIP(address) !== 0);
    return valid.length > 0 ? valid : 'does not resolve (no address)';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return `does not resolve (${typeof code === 'string' ? code : (error as Error).message})`;
  } finally {
    clearTimeout(timer);
  }
}
