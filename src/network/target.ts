/**
 * Where a proxied request wants to go, canonicalised the way a browser reads a URL (WHATWG URL:
 * lower case, IDN as `xn--`, `0x7f.1` and `2130706433` read as the IPv4 addresses they are), so
 * the allow-list and the address rules see one spelling of every destination.
 */
import { parseAddress } from './address-rules.js';
import { hostNameProblem, type Target } from './host-patterns.js';

/** A target, or why the request names none. */
export type ParsedTarget = { readonly target: Target } | { readonly problem: string };

/** The target of `CONNECT host:port` (the port is required). */
export function targetOfAuthority(authority: string): ParsedTarget {
  const port = /:([0-9]{1,5})$/.exec(authority);
  if (port === null || /[@/?#\\\s]/.test(authority)) {
    return { problem: `\`${shorten(authority)}\` is not a host:port` };
  }
  let url: URL;
  try {
    url = new URL(`http://${authority.slice(0, port.index)}/`);
  } catch {
    return { problem: `\`${shorten(authority)}\` is not a host:port` };
  }
  return canonical(url.hostname, Number(port[1]));
}

/** The target of an absolute-form request (`GET http://host:port/path`), and its path. */
export function targetOfUrl(
  text: string,
): { readonly target: Target; readonly path: string } | { readonly problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return {
      problem: text.startsWith('/')
        ? 'the proxy takes absolute URLs only (`GET http://host/path`)'
        : `\`${shorten(text)}\` is not a URL`,
    };
  }
  if (url.protocol !== 'http:') {
    return {
      problem: `\`${url.protocol}\` URLs go through CONNECT (the proxy never opens TLS for a tool)`,
    };
  }
  const parsed = canonical(url.hostname, url.port === '' ? 80 : Number(url.port));
  return 'problem' in parsed ? parsed : { target: parsed.target, path: url.pathname + url.search };
}

/** `host:port`, IPv6 in brackets: how messages name a target. */
export function describeTarget(target: Pick<Target, 'host' | 'port'>): string {
  return target.host.includes(':')
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
}

function canonical(hostname: string, port: number): ParsedTarget {
  if (!(port >= 1 && port <= 65535)) return { problem: `port ${port} is outside 1–65535` };
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname.replace(/\.$/, '');
  const address = parseAddress(host);
  if (address === undefined) {
    const problem = hostNameProblem(host);
    if (problem !== undefined) return { problem: `the host \`${shorten(host)}\` ${problem}` };
  }
  return { target: { host, port, address } };
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
