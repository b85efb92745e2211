/**
 * Host patterns of `permissions.net`: `api.example.com`, `api.example.com:8443`,
 * `*.example.com` (subdomains, at any depth, not the name itself), an IP literal (`203.0.113.7`,
 * `2001:db8::1`, `[2001:db8::1]:443`) or a CIDR block (`203.0.113.0/24`, `2001:db8::/32`).
 * A pattern without a port allows every port. Names match names and addresses match addresses:
 * a name is never allowed because of the address it resolves to. Pure: no DNS.
 */
import { inPrefix, networkOf, parseAddress } from './address-rules.js';

/** A parsed host pattern. */
export type HostPattern =
  | {
      readonly kind: 'name';
      /** Lower-case, without a trailing dot (and without the `*.` of a wildcard). */
      readonly name: string;
      /** `*.name`: the subdomains of `name`, not `name` itself. */
      readonly subdomains: boolean;
      readonly port: number | undefined;
    }
  | {
      readonly kind: 'address';
      /** 4 or 16 bytes: the address, or the network of a CIDR block. */
      readonly bytes: Uint8Array;
      /** 32 or 128 for a single address. */
      readonly prefix: number;
      readonly port: number | undefined;
    };

/** Where a connection goes, as the proxy canonicalised it. */
export interface Target {
  /** A lower-case name, or an IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** The bytes when `host` is an IP literal. */
  readonly address: Uint8Array | undefined;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Parses one pattern; returns the problem (a phrase: "has an empty label") when it is not one.
 */
export function parseHostPattern(text: string): HostPattern | { readonly problem: string } {
  if (typeof text !== 'string' || text === '') return { problem: 'is empty' };
  if (/\s/.test(text)) return { problem: 'contains white space' };
  if (text.includes('://')) {
    return { problem: 'is a URL, not a host (write `api.example.com` or `api.example.com:443`)' };
  }
  if (text.includes('/')) {
    return isCidrLike(text) ? parseCidr(text) : { problem: 'has a path; a pattern is a host' };
  }
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return { problem: 'has `[` without `]`' };
    const bytes = parseAddress(text.slice(1, close));
    if (bytes === undefined || bytes.length !== 16) {
      return { problem: 'has no IPv6 address inside its brackets' };
    }
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { problem: 'has text after `]`' };
    const port = rest === '' ? undefined : parsePort(rest.slice(1));
    if (port === null) return { problem: 'has an invalid port (1–65535)' };
    return { kind: 'address', bytes, prefix: 128, port };
  }
  const bare = parseAddress(text);
  if (bare !== undefined) {
    if (text.includes('%')) return { problem: 'has an IPv6 zone (`%…`)' };
    return { kind: 'address', bytes: bare, prefix: bare.length * 8, port: undefined };
  }
  const colon = text.lastIndexOf(':');
  if (colon !== -1 && text.indexOf(':') !== colon) {
    return { problem: 'is not an IPv6 address (put an IPv6 address with a port in brackets)' };
  }
  const host = colon === -1 ? text : text.slice(0, colon);
  const port = colon === -1 ? undefined : parsePort(text.slice(colon + 1));
  if (port === null) return { problem: 'has an invalid port (1–65535)' };
  const v4 = parseAddress(host);
  if (v4 !== undefined) return { kind: 'address', bytes: v4, prefix: 32, port };
  const subdomains = host.startsWith('*.');
  const name = (subdomains ? host.slice(2) : host).toLowerCase().replace(/\.$/, '');
  if (name.includes('*')) {
    return { problem: 'has a `*` that is not a leading `*.` (only `*.example.com` is supported)' };
  }
  const problem = hostNameProblem(name);
  if (problem !== undefined) return { problem };
  if (subdomains && !name.includes('.')) {
    return { problem: 'is a wildcard over a top-level domain (`*.com` would allow too much)' };
  }
  return { kind: 'name', name, subdomains, port };
}

/** The canonical text of a pattern (lower case, IPv6 compressed, brackets only with a port). */
export function formatHostPattern(pattern: HostPattern): string {
  const port = pattern.port === undefined ? '' : `:${pattern.port}`;
  if (pattern.kind === 'name') return `${pattern.subdomains ? '*.' : ''}${pattern.name}${port}`;
  const address = formatAddress(pattern.bytes);
  const single = pattern.prefix === pattern.bytes.length * 8;
  if (!single) return `${address}/${pattern.prefix}`;
  return pattern.bytes.length === 16 && port !== '' ? `[${address}]${port}` : `${address}${port}`;
}

/** Why `name` is not a host name, or undefined when it is one (lower case, no trailing dot). */
export function hostNameProblem(name: string): string | undefined {
  if (name === '') return 'has no host name';
  if (/[^\x21-\x7e]/.test(name)) {
    return 'has characters outside ASCII (write an internationalised name in its `xn--` form)';
  }
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.split('.');
  if (labels.some((label) => label === '')) return 'has an empty label';
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) return `has an invalid label \`${bad}\` (letters, digits, - and _)`;
  // getaddrinfo reads `1.2.3`, `0x7f.1` or `2130706433` as IPv4 addresses: never a name.
  if (/^(?:0x[0-9a-f]*|[0-9]+)$/.test(labels[labels.length - 1] ?? '')) {
    return 'ends with a numeric label (write IPv4 addresses as four decimal numbers)';
  }
  return undefined;
}

/** True when `pattern` allows a connection to `target`. */
export function patternAllows(pattern: HostPattern, target: Target): boolean {
  if (pattern.port !== undefined && pattern.port !== target.port) return false;
  if (pattern.kind === 'address') {
    return (
      target.address !== undefined &&
      target.address.length === pattern.bytes.length &&
      inPrefix(target.address, pattern.bytes, pattern.prefix)
    );
  }
  if (target.address !== undefined) return false;
  return pattern.subdomains
    ? target.host.endsWith(`.${pattern.name}`)
    : target.host === pattern.name;
}

/**
 * True when everything `inner` allows, `outer` allows too (a call's pattern inside its tool's):
 * the same or a wider port, the same name or a wildcard above it, a block that contains it.
 */
export function patternCovers(outer: HostPattern, inner: HostPattern): boolean {
  if (outer.port !== undefined && outer.port !== inner.port) return false;
  if (outer.kind === 'address' || inner.kind === 'address') {
    return (
      outer.kind === 'address' &&
      inner.kind === 'address' &&
      outer.bytes.length === inner.bytes.length &&
      outer.prefix <= inner.prefix &&
      inPrefix(inner.bytes, outer.bytes, outer.prefix)
    );
  }
  if (!outer.subdomains) return !inner.subdomains && inner.name === outer.name;
  return inner.name.endsWith(`.${outer.name}`) || (inner.subdomains && inner.name === outer.name);
}

/** An IPv4 address as dotted decimal, an IPv6 address compressed (RFC 5952, as URL does it). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups = [...Array(8).keys()].map((i) =>
    (((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0)).toString(16),
  );
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function isCidrLike(text: string): boolean {
  return /^[0-9a-fA-F:.]+\/[0-9]+$/.test(text);
}

function parseCidr(text: string): HostPattern | { readonly problem: string } {
  const [address = '', bits = ''] = text.split('/');
  const bytes = parseAddress(address);
  if (bytes === undefined || address.includes('%')) {
    return { problem: 'is not a CIDR block (an IP address, `/`, a prefix length)' };
  }
  const max = bytes.length * 8;
  const prefix = /^[0-9]{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return { problem: `has a prefix length outside 0–${max}` };
  const network = networkOf(bytes, prefix);
  if (network.some((byte, i) => byte !== bytes[i])) {
    return {
      problem: `has bits set after its prefix (the block is \`${formatAddress(network)}/${prefix}\`)`,
    };
  }
  if (prefix === 0)
    return { problem: 'allows every address (use `net: true` for the whole network)' };
  return { kind: 'address', bytes, prefix, port: undefined };
}

// A port 1–65535 in decimal; null when `text` is not one.
function parsePort(text: string): number | null {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}
