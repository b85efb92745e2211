/**
 * A session's connections to servers: a keep-alive agent for forwarded requests, and plain
 * sockets for CONNECT tunnels, both opened by the session within its socket budget. The agent's
 * pool is keyed by the address connected to (never a name), so a reused connection goes where
 * the check said.
 */
import { Agent } from 'node:http';
import type { Socket } from 'node:net';

/** Idle kept-alive connections to servers that one session keeps, over all servers. */
export const MAX_FREE_SOCKETS = 4;

/** The message of a connection the budget did not allow. */
export const BUDGET_SPENT = 'the egress proxy holds as many connections as it may';

/** Opens a connection to `address`:`port`; undefined when the session's budget is spent. */
export type OpenUpstream = (address: string, port: number) => Socket | undefined;

/**
 * Keep-alive to the servers a tool talks to: a new TCP connection per forwarded request cost the
 * proxy's round trip a connect and an accept. Every connection comes from `open`.
 */
export function upstreamAgent(
  maxConnections: number,
  idleTimeoutMs: number,
  open: OpenUpstream,
): Agent {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: maxConnections,
    maxFreeSockets: Math.min(MAX_FREE_SOCKETS, maxConnections),
    timeout: idleTimeoutMs,
  });
  agent.createConnection = (options, callback) => {
    const socket = open(String(options.host), Number(options.port));
    if (socket === undefined) callback?.(new Error(BUDGET_SPENT), undefined as never);
    return socket;
  };
  // Node's agent keeps up to maxFreeSockets idle connections per origin (address and port): a
  // tool that talks to many ports would leave descriptors behind on each. Node's own 'free'
  // listener (registered first) pools the socket; this one trims the pool over all origins.
  agent.on('free', () => trimFreeSockets(agent));
  return agent;
}

function trimFreeSockets(agent: Agent): void {
  const pools = Object.values(agent.freeSockets);
  let free = pools.reduce((sum, pool) => sum + (pool?.length ?? 0), 0);
  for (const pool of pools) {
    for (const socket of pool ?? []) {
      if (free <= MAX_FREE_SOCKETS) return;
      socket.destroy();
      free--;
    }
  }
}
