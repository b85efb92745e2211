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
import { describeTarget, targetOfAuthority, targetOfUrl } from './target.js';

/** One refused connection. */
export interface NetworkDenial {
  /** The host as the tool named it (canonical), or the unparsable request target. */
  readonly host: string;
  readonly port: number | undefined;
  /** Why: "not in the allow-list", "resolves to 169.254.169.254, a link-local address". */
  readonly reason: string;
  /** `connect to evil.example:443: not in the allow-list`. */
  readonly message: string;
  /** When, as a `performance.now()` reading (for span events). */
  readonly at: number;
}

/** What the proxy saw of one execution. */
export interface NetworkActivity {
  /** Connections (CONNECT tunnels and forwarded requests) let through. */
  readonly allowed: number;
  /** Connections refused: by the allow-list, the address rules, or a limit. */
  readonly denied: number;
  /** Of those, the refusals by the allow-list and the address rules (not by a limit). */
  readonly deniedByPolicy: number;
  /** The first {@link MAX_DENIAL_RECORDS} refusals by the allow-list and the address rules. */
  readonly denials: readonly NetworkDenial[];
  /** The latest refusal by the allow-list or the address rules. */
  readonly lastDenial: NetworkDenial | undefined;
  /** The network limit that was hit first ("more than 4 connections at once"), if any. */
  readonly limit: string | undefined;
}

/** What one session enforces. */
export interface SessionSpec {
  readonly allow: readonly HostPattern[];
  /** Connections open at once (tunnels and requests in flight). */
  readonly maxConnections: number;
  /** Bytes through the proxy in total, both directions. */
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
}

/** Refusals kept per execution (each becomes a span event); the rest are only counted. */
export const MAX_DENIAL_RECORDS = 64;

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
  readonly #denials: NetworkDenial[] = [];
  #lastDenial: NetworkDenial | undefined;
  #deniedByPolicy = 0;
  #open = 0;
  #bytes = 0;
  #allowed = 0;
  #denied = 0;
  #limit: string | undefined;
  #exhausted = false;
  #closed: Promise<void> | undefined;

  private constructor(directory: string, spec: SessionSpec, policy: NetworkPolicy) {
    this.directory = directory;
    this.socketPath = join(directory, SOCKET_NAME);
    this.#spec = spec;
    this.#policy = policy;
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
    return {
      allowed: this.#allowed,
      denied: this.#denied,
      deniedByPolicy: this.#deniedByPolicy,
      denials: [...this.#denials],
      lastDenial: this.#lastDenial,
      limit: this.#limit,
    };
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
    if (this.#closed !== undefined) return this.#limited('the execution has ended');
    if (this.#exhausted) return this.#limited(this.#limit ?? 'the network limit was hit');
    if (this.#open >= this.#spec.maxConnections) {
      return this.#limited(`more than ${this.#spec.maxConnections} connections at once`);
    }
    this.#open++;
    const decision = await decide(target, this.#spec.allow, this.#policy);
    if (!decision.allowed || this.#closed !== undefined || this.#exhausted) {
      this.#open--;
      if (decision.allowed) return this.#limited(this.#limit ?? 'the execution has ended');
      return this.#refuse(target.host, target.port, decision.reason, 403);
    }
    this.#allowed++;
    let released = false;
    const meter: RelayMeter = {
      count: (bytes) => this.#count(bytes),
      track: (socket) => this.#track(socket),
      release: () => {
        if (!released) {
          released = true;
          this.#open--;
        }
      },
      agent: this.#agent,
    };
    return { ok: true, address: decision.address, meter };
  }

  // A refusal by the allow-list, the address rules or a malformed request: recorded.
  #refuse(host: string, port: number | undefined, reason: string, status: number): Admission {
    this.#denied++;
    this.#deniedByPolicy++;
    // An unparsable target is the tool's text: bounded before it goes anywhere.
    const shown = host.length > 200 ? `${host.slice(0, 197)}...` : host;
    const where = port === undefined ? shown : describeTarget({ host: shown, port });
    const denial = {
      host: shown,
      port,
      reason,
      message: `connect to ${where}: ${reason}`,
      at: performance.now(),
    };
    this.#lastDenial = denial;
    if (this.#denials.length < MAX_DENIAL_RECORDS) this.#denials.push(denial);
    return { ok: false, status, text: status === 400 ? 'Bad Request' : 'Forbidden', reason };
  }

  // A refusal by a limit: the first one is the execution's `limit`.
  #limited(why: string): Admission {
    this.#denied++;
    this.#limit ??= why;
    return { ok: false, status: 429, text: 'Too Many Requests', reason: `network limit: ${why}` };
  }

  #count(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes <= this.#spec.maxBytes || this.#exhausted) return;
    this.#exhausted = true;
    const mib = Math.round((this.#spec.maxBytes / 1024 / 1024) * 100) / 100;
    this.#limit ??= `more than ${mib} MiB through the network`;
    for (const socket of this.#sockets) socket.destroy();
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

// A header value is one line of printable ASCII.
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}
