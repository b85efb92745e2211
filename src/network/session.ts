/**
 * The egress proxy of one execution: an HTTP proxy on its own Unix socket (bound into that
 * execution's sandbox only, so the socket is the execution's identity), which decides every
 * connection, records every refusal, and holds the execution's network limits: connections at
 * once, bytes in total, an idle timeout, and every connection closed when the execution ends.
 */
import { mkdir, rm } from 'node:fs/promises';
import {
  Agent,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { decide, type NetworkPolicy } from './decide.js';
import type { HostPattern, Target } from './patterns.js';
import { forwardRequest, openTunnel, statusResponse, type RelayMeter } from './relay.js';
import { NetworkLedger, type NetworkActivity } from './ledger.js';
import { targetOfAuthority, targetOfUrl } from './target.js';

/** What one session enforces. */
export interface SessionSpec {
  readonly allow: readonly HostPattern[];
  /** Connections open at once (tunnels and requests in flight). */
  readonly maxConnections: number;
  /** Bytes through the proxy in total, both directions. */
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
}

/** The socket's name inside its directory. */
export const SOCKET_NAME = 'proxy.sock';
// sun_path is 108 bytes on Linux, with a terminating NUL.
const MAX_SOCKET_PATH = 107;

type Admission =
  | { readonly ok: true; readonly address: string; readonly meter: RelayMeter }
  | { readonly ok: false; readonly status: number; readonly text: string; readonly reason: string };

/** One execution's proxy. Create with {@link EgressSession.open}. */
export class EgressSession {
  /** The directory holding the socket (bind it into the sandbox). */
  readonly directory: string;
  readonly socketPath: string;
  readonly #server: Server;
  readonly #spec: SessionSpec;
  readonly #policy: NetworkPolicy;
  readonly #sockets = new Set<Socket>();
  readonly #agent: Agent;
  readonly #ledger: NetworkLedger;
  #closed: Promise<void> | undefined;

  private constructor(directory: string, spec: SessionSpec, policy: NetworkPolicy) {
    this.directory = directory;
    this.socketPath = join(directory, SOCKET_NAME);
    this.#spec = spec;
    this.#policy = policy;
    this.#ledger = new NetworkLedger(spec.maxConnections, spec.maxBytes);
    // Keep-alive to the servers a tool talks to: a new TCP connection per forwarded request cost
    // the proxy's round trip a connect and an accept. Bounded by the connection cap.
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: spec.maxConnections,
      maxFreeSockets: Math.min(4, spec.maxConnections),
      timeout: spec.idleTimeoutMs,
    });
    this.#server = createServer();
    this.#server.timeout = spec.idleTimeoutMs;
    this.#server.on('connection', (socket: Socket) => this.#track(socket));
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.#onRequest(req, res);
    });
    this.#server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      void this.#onConnect(req, socket, head);
    });
    this.#server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      socket.end(
        statusResponse(501, 'Not Implemented', {}, 'upgrades through the proxy: use CONNECT\n'),
      );
    });
    this.#server.on('clientError', (_error, socket: Socket) => {
      if (socket.writable) socket.end(statusResponse(400, 'Bad Request', {}, 'bad request\n'));
      else socket.destroy();
    });
  }

  /**
   * Makes `directory` (0700, must not exist) and listens on its socket. Rejects when it cannot
   * (the caller refuses the execution: never a fallback to the whole network).
   */
  static async open(
    directory: string,
    spec: SessionSpec,
    policy: NetworkPolicy,
  ): Promise<EgressSession> {
    const socketPath = join(directory, SOCKET_NAME);
    // libuv's uv_pipe_bind cuts a longer path to fit sun_path (observed: Node 20 listened on the
    // cut path without an error), which would leave the sandbox's bind pointing at nothing.
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(
        `the proxy's socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes (set TMPDIR to a shorter directory)`,
      );
    }
    await mkdir(directory, { mode: 0o700 });
    const session = new EgressSession(directory, spec, policy);
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

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = targetOfUrl(req.url ?? '');
    const admission =
      'problem' in parsed
        ? this.#refuse(req.url ?? '', undefined, parsed.problem, 400)
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
    if ('problem' in parsed) return;
    forwardRequest(req, res, parsed.target, parsed.path, admission.address, admission.meter);
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
      const headers = { 'x-toolcage-denied': headerSafe(admission.reason) };
      client.end(
        statusResponse(admission.status, admission.text, headers, `${admission.reason}\n`),
      );
      return;
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
      track: (socket) => this.#track(socket),
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
  #refuse(host: string, port: number | undefined, reason: string, status: 400 | 403): Admission {
    this.#ledger.refuse(host, port, reason);
    return { ok: false, status, text: status === 400 ? 'Bad Request' : 'Forbidden', reason };
  }

  #track(socket: Socket): void {
    if (this.#closed !== undefined) {
      socket.destroy();
      return;
    }
    // A kept-alive socket of the agent comes back with every request it serves.
    if (this.#sockets.has(socket)) return;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.setTimeout(this.#spec.idleTimeoutMs, () => socket.destroy());
  }
}

// After close(): the execution is over (not a limit of the tool's).
const ENDED: Admission = {
  ok: false,
  status: 503,
  text: 'Service Unavailable',
  reason: 'the execution has ended',
};

// A refusal by a network limit (the ledger recorded it).
function limitedBy(reason: string): Admission {
  return { ok: false, status: 429, text: 'Too Many Requests', reason };
}

// A header value is one line of printable ASCII.
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}
