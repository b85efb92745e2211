/**
 * The egress proxy of a runtime: it runs in the manager (Node), outside every sandbox, and opens
 * one {@link EgressSession} per execution whose `permissions.net` is an allow-list. Written over
 * node:http's 'request' and 'connect' events, not on a proxy library: none pins the address it
 * checked and keeps Unix-socket connections (docs/network.md, "Why no proxy library"). Each
 * session bounds what its tool can make the manager hold (sockets, a request head's size and
 * time), and every session draws its sockets from one budget of the proxy's.
 */
import { parseHostPattern, type HostPattern } from './host-patterns.js';
import { systemLookup, type Lookup, type NetworkPolicy } from './decide.js';
import type { NormalizedNetworkOptions } from './network-options.js';
import { EgressSession } from './session.js';
import { proxySocketBudget, SocketBudget } from './budget.js';

/** What one execution's session enforces. */
export interface SessionRequest {
  /** Canonical host patterns (permissions.net, resolved). */
  readonly allow: readonly string[];
  readonly maxConnections: number;
  readonly maxBytes: number;
  /** A directory to create (must not exist) for the session's socket. */
  readonly directory: string;
}

/** The proxy of a runtime. */
export interface EgressProxy {
  /** Opens one execution's session; rejects when it cannot listen. */
  open(request: SessionRequest): Promise<EgressSession>;
}

/** What the proxy itself may hold of the manager, the same for every session. */
export interface ProxyBounds {
  /** A request head (request line and headers) larger than this is answered 431. */
  readonly maxHeadBytes: number;
  /** A request head not received this long after its connection opened is answered 408, ms. */
  readonly headTimeoutMs: number;
  /** Sockets held at once over every session: tools' connections and those to servers. */
  readonly maxSockets: number;
}

/** The bounds of a runtime's proxy (`maxSockets` depends on the manager's RLIMIT_NOFILE). */
export function defaultProxyBounds(): ProxyBounds {
  return { maxHeadBytes: 16 * 1024, headTimeoutMs: 5_000, maxSockets: proxySocketBudget() };
}

/** Creates the egress proxy; `lookup` replaces DNS and `bounds` the defaults (tests). */
export function createEgressProxy(
  options: NormalizedNetworkOptions,
  lookup: Lookup = systemLookup,
  bounds: ProxyBounds = defaultProxyBounds(),
): EgressProxy {
  const budget = new SocketBudget(bounds.maxSockets);
  const policy: NetworkPolicy = {
    hosts: options.hosts,
    allowPrivateAddresses: options.allowPrivateAddresses,
    lookup,
  };
  // Patterns arrive validated (permissions.ts); a failure here is toolcage's own bug.
  const pattern = (text: string): HostPattern => {
    const result = parseHostPattern(text);
    if ('problem' in result) throw new Error(`host pattern \`${text}\` ${result.problem}`);
    return result;
  };
  return {
    open(request) {
      return EgressSession.open(
        request.directory,
        {
          allow: request.allow.map(pattern),
          maxConnections: request.maxConnections,
          maxBytes: request.maxBytes,
          idleTimeoutMs: options.idleTimeoutMs,
          maxHeadBytes: bounds.maxHeadBytes,
          headTimeoutMs: bounds.headTimeoutMs,
        },
        policy,
        budget,
      );
    },
  };
}
