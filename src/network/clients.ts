/**
 * The tool's side of one session: every connection to the session's socket counts from the
 * moment it is accepted — one whose request head has not arrived yet included — against the
 * execution's `limits.maxConnections` and the manager's descriptor budget. One over the cap first
 * takes the place of a kept-alive connection that waits for nothing (it finished an exchange and
 * has none in progress); if there is none, it is answered and closed at once.
 */
import type { Socket } from 'node:net';
import type { SocketBudget } from './budget.js';

/** Why a connection was not let in. */
export type ClientRefusal = 'cap' | 'budget';

interface ClientState {
  /** Exchanges finished on this connection. */
  finished: number;
  /** Requests in progress (pipelined ones included). */
  inProgress: number;
  /** A CONNECT tunnel owns the connection now. */
  tunnel: boolean;
}

/** The client connections of one session. */
export class ClientConnections {
  readonly #cap: number;
  readonly #budget: SocketBudget;
  readonly #states = new Map<Socket, ClientState>();
  readonly #refused = new WeakSet<Socket>();

  constructor(cap: number, budget: SocketBudget) {
    this.#cap = cap;
    this.#budget = budget;
  }

  /** Connections counted now. */
  get size(): number {
    return this.#states.size;
  }

  /** Counts `socket` in, or says why it cannot be (the caller then {@link refuse}s it). */
  admit(socket: Socket): ClientRefusal | undefined {
    if (this.#states.size >= this.#cap) this.#closeOneIdle();
    if (this.#states.size >= this.#cap) return 'cap';
    if (!this.#budget.hold(socket)) return 'budget';
    this.#states.set(socket, { finished: 0, inProgress: 0, tunnel: false });
    socket.once('close', () => this.#states.delete(socket));
    return undefined;
  }

  /**
   * Answers `socket` with `response` and closes it. A write followed at once by destroy() lost
   * the response (observed: a Node client on the Unix socket read nothing when the proxy had not
   * read its request head); end() then destroy() on the next turn delivers it, and the socket is
   * gone before the event loop comes back to accept more.
   */
  refuse(socket: Socket, response: string): void {
    this.#refused.add(socket);
    socket.on('error', () => socket.destroy());
    socket.end(response);
    setImmediate(() => socket.destroy());
  }

  /** True for a socket that was refused: whatever Node still parses from it is dropped. */
  refused(socket: Socket): boolean {
    return this.#refused.has(socket);
  }

  /** A request (or a CONNECT, which keeps the connection) began on `socket`. */
  begin(socket: Socket, tunnel: boolean): void {
    const state = this.#states.get(socket);
    if (state === undefined) return;
    state.inProgress++;
    if (tunnel) state.tunnel = true;
  }

  /** A request on `socket` was answered. */
  finish(socket: Socket): void {
    const state = this.#states.get(socket);
    if (state === undefined) return;
    state.inProgress = Math.max(0, state.inProgress - 1);
    state.finished++;
  }

  // A kept-alive connection between exchanges holds nothing: it makes room for a new one.
  #closeOneIdle(): void {
    for (const [socket, state] of this.#states) {
      if (!state.tunnel && state.inProgress === 0 && state.finished > 0) {
        this.#states.delete(socket);
        socket.destroy();
        return;
      }
    }
  }
}
