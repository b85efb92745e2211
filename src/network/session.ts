/**
 * The egress proxy of one execution: an HTTP proxy on its own Unix socket (bound into that
 * execution's sandbox only, so the socket is the execution's identity), which decides every
 * connection, records every refusal, and holds the execution's network limits: connections at
 * once (every connection to the socket counts, from its accept), bytes in total, an idle
 * timeout, and every connection closed when the execution ends. It also bounds what a tool can
 * make the manager hold: sockets (see budget.ts), a request head's size and the time it takes.
 */
import { mkdir, rm } from 'node:fs/promises';
import {
  createServer,
  type Agent,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { decide, type NetworkPolicy } from './decide.js';
import type { HostPattern, Target } from './host-patterns.js';
import { SocketBudget } from './budget.js';
import { ClientConnections } from './clients.js';
import { forwardRequest, openTunnel, requestFraming, type RelayMeter } from './relay.js';
import { NetworkLedger, type NetworkActivity } from './ledger.js';
import {
  ENDED,
  headerSafe,
  limitedBy,
  headRefusal,
  refusal,
  STATUS_TEXT,
  type Admission,
  type Status,
} from './refusals.js';
import { targetOfAuthority, targetOfUrl } from './target.js';
import { BUDGET_SPENT, MAX_FREE_SOCKETS, upstreamAgent } from './upstream.js';

/** What one session enforces. */
export interface SessionSpec {
  readonly allow: readonly HostPattern[];
  /** Connections at once: the tool's to the socket, and tunnels and requests in flight. */
  readonly maxConnections: number;
  /** Bytes through the proxy in total, both directions. */
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
  /** A request head larger than this is answered 431 and the connection closed. */
  readonly maxHeadBytes: number;
  /** A request head not received in this long is answered 408 and the connection closed, ms. */
  readonly headTimeoutMs: number;
}

/** The socket's name inside its directory. */
export const SOCKET_NAME = 'proxy.sock';
// sun_path is 108 bytes on Linux, with a terminating NUL.
const MAX_SOCKET_PATH = 107;

/** One execution's proxy. Create with {@link EgressSession.open}. */
export class EgressSession {
  /** The directory holding the socket (bind it into the sandbox). */
  readonly directory: string;
  readonly socketPath: string;
  readonly #server: Server;
  readonly #spec: SessionSpec;
  readonly #policy: NetworkPolicy;
  readonly #sockets = new Set<Socket>();
  readonly #budget: SocketBudget;
  readonly #clients: ClientConnections;
  readonly #agent: Agent;
  readonly #ledger: NetworkLedger;
  #closed: Promise<void> | undefined;

  private constructor(
    directory: string,
    spec: SessionSpec,
    policy: NetworkPolicy,
    budget: SocketBudget,
  ) {
    this.directory = directory;
    this.socketPath = join(directory, SOCKET_NAME);
    this.#spec = spec;
    this.#policy = policy;
    this.#ledger = new NetworkLedger(spec.maxConnections, spec.maxBytes);
    // Clients (at most maxConnections), a server connection for each (requests and tunnels in
    // flight, at most maxConnections) and the agent's idle ones.
    this.#budget = new SocketBudget(2 * spec.maxConnections + MAX_FREE_SOCKETS, budget);
    this.#clients = new ClientConnections(spec.maxConnections, this.#budget);
    this.#agent = upstreamAgent(spec.maxConnections, spec.idleTimeoutMs, (address, port) =>
      this.#openUpstream(address, port),
    );
    this.#server = createServer({
      maxHeaderSize: spec.maxHeadBytes,
      headersTimeout: spec.headTimeoutMs,
      // Node checks the head deadline on this interval (default 30 s), not on a timer of its own.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, spec.headTimeoutMs >> 2)),
    });
    this.#server.timeout = spec.idleTimeoutMs;
    this.#listen(this.#server);
  }

  /**
   * Makes `directory` (0700, must not exist) and listens on its socket. Rejects when it cannot
   * (the caller refuses the execution: never a fallback to the whole network).
   */
  static async open(
    directory: string,
    spec: SessionSpec,
    policy: NetworkPolicy,
    budget: SocketBudget,
  ): Promise<EgressSession> {
    const socketPath = join(directory, SOCKET_NAME);
    // libuv's uv_pipe_bind cuts a longer path to fit sun_path (observed: Node listened on the
    // cut path without an error), which would leave the sandbox's bind pointing at nothing.
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(
        `the proxy's socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes (set TMPDIR to a shorter directory)`,
      );
    }
    await mkdir(directory, { mode: 0o700 });
    const session = new EgressSession(directory, spec, policy, budget);
    try {
      await new Promise<void>((resolve, reject) => {
        session.#server.once('error', reject);
        session.#server.listen(session.socketPath, () => {
          session.#server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await rm(directory, { recursive: true, force: true });
      throw error;
    }
    return session;
  }

  /** What the proxy saw so far. */
  activity(): NetworkActivity {
    return this.#ledger.activity();
  }

  /** Connections through the proxy right now (client and upstream sockets). */
  get openSockets(): number {
    return this.#sockets.size;
  }

  /** Connections of the tool to the session's socket right now. */
  get clientConnections(): number {
    return this.#clients.size;
  }

  /**
   * Closes every connection at once, stops listening and removes the socket's directory.
   * Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#agent.destroy();
      for (const socket of this.#sockets) socket.destroy();
      await stopped;
      await rm(this.directory, { recursive: true, force: true }).catch(() => {});
    })();
    return this.#closed;
  }

  // The server's events. A refused connection's requests (Node may still parse some) are dropped.
  #listen(server: Server): void {
    const clients = this.#clients;
    server.on('connection', (socket: Socket) => this.#onConnection(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (clients.refused(req.socket)) return void req.socket.destroy();
      clients.begin(req.socket, false);
      res.once('close', () => clients.finish(req.socket));
      void this.#onRequest(req, res);
    });
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (clients.refused(socket)) return void socket.destroy();
      clients.begin(socket, true);
      void this.#onConnect(req, socket, head);
    });
    server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      clients.refuse(socket, refusal(501, 'upgrades through the proxy: use CONNECT'));
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      if (clients.refused(socket) || !socket.writable) return void socket.destroy();
      clients.refuse(socket, headRefusal(error.code, this.#spec, this.#ledger));
    });
  }

  // Every connection to the socket counts from its accept; one too many is answered at once.
  #onConnection(socket: Socket): void {
    if (this.#closed !== undefined) return void socket.destroy();
    const refused = this.#clients.admit(socket);
    if (refused === undefined) return this.#track(socket);
    const max = this.#spec.maxConnections;
    this.#clients.refuse(
      socket,
      refused === 'cap'
        ? refusal(429, this.#ledger.limited(`more than ${max} connections at once`))
        : refusal(503, BUDGET_SPENT),
    );
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = targetOfUrl(req.url ?? '');
    const framing = requestFraming(req);
    const admission =
      'problem' in parsed
        ? this.#refuse(req.url ?? '', undefined, parsed.problem, 400)
        : 'problem' in framing
          ? this.#refuse(parsed.target.host, parsed.target.port, framing.problem, 501)
          : await this.#admit(parsed.target);
    if (!admission.ok) {
      res.writeHead(admission.status, admission.text, {
        'content-type': 'text/plain; charset=utf-8',
        'x-toolcage-denied': headerSafe(admission.reason),
        connection: 'close',
      });
      res.end(`${admission.reason}\n`);
      return;
    }
    if ('problem' in parsed || 'problem' in framing) return;
    const forward = { ...parsed, framing: framing.headers };
    forwardRequest(req, res, forward, admission.address, admission.meter);
  }

  async #onConnect(req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    client.setTimeout(this.#spec.idleTimeoutMs, () => client.destroy());
    const parsed = targetOfAuthority(req.url ?? '');
    const admission =
      'problem' in parsed
        ? this.#refuse(req.url ?? '', undefined, parsed.problem, 400)
        : await this.#admit(parsed.target);
    if (!admission.ok) {
      return this.#clients.refuse(client, refusal(admission.status, admission.reason));
    }
    if ('problem' in parsed) return;
    openTunnel(client, head, parsed.target, admission.address, admission.meter);
  }

  // The limits, then the decision; a slot is held while the name resolves.
  async #admit(target: Target): Promise<Admission> {
    const ledger = this.#ledger;
    if (this.#closed !== undefined) return ENDED;
    const over = ledger.reserve();
    if (over !== undefined) return limitedBy(over);
    const decision = await decide(target, this.#spec.allow, this.#policy);
    if (!decision.allowed) {
      ledger.release();
      return this.#refuse(target.host, target.port, decision.reason, 403);
    }
    if (this.#closed !== undefined || ledger.exhausted) {
      ledger.release();
      return this.#closed !== undefined ? ENDED : limitedBy(ledger.limited('the budget is spent'));
    }
    ledger.allow();
    let released = false;
    const meter: RelayMeter = {
      count: (bytes) => {
        // The budget is spent: every connection of the execution goes at once.
        if (ledger.count(bytes)) for (const socket of this.#sockets) socket.destroy();
      },
      open: (address, port) => this.#openUpstream(address, port),
      release: () => {
        if (!released) {
          released = true;
          ledger.release();
        }
      },
      agent: this.#agent,
    };
    return { ok: true, address: decision.address, meter };
  }

  // A refusal by the allow-list, the address rules or a malformed request: recorded.
  #refuse(host: string, port: number | undefined, reason: string, status: Status): Admission {
    this.#ledger.refuse(host, port, reason);
    return { ok: false, status, text: STATUS_TEXT[status], reason };
  }

  // A connection to a server, within the budget (the agent's and the tunnels').
  #openUpstream(address: string, port: number): Socket | undefined {
    if (this.#closed !== undefined || !this.#budget.take()) return undefined;
    const socket = connect({ host: address, port });
    socket.once('close', () => this.#budget.give());
    this.#track(socket);
    return socket;
  }

  #track(socket: Socket): void {
    if (this.#closed !== undefined) return void socket.destroy();
    // A kept-alive socket of the agent comes back with every request it serves.
    if (this.#sockets.has(socket)) return;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.setTimeout(this.#spec.idleTimeoutMs, () => socket.destroy());
  }
}
