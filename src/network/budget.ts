/**
 * The manager's descriptor budget for the egress proxy. Every socket the proxy holds — a tool's
 * connection to its session's socket, a connection to a server — takes a slot of its session's
 * budget and of the proxy's, and gives it back when it closes. A socket that finds no slot is
 * closed at once or never opened, so no tool can run the manager out of descriptors (EMFILE) and
 * make another execution's start fail.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/** Slots for sockets; a session's budget draws on its proxy's. */
export class SocketBudget {
  readonly max: number;
  readonly #parent: SocketBudget | undefined;
  #used = 0;

  constructor(max: number, parent?: SocketBudget) {
    this.max = max;
    this.#parent = parent;
  }

  /** Slots taken now. */
  get used(): number {
    return this.#used;
  }

  /** Takes a slot here and in the parent; false, with nothing taken, when either has none. */
  take(): boolean {
    if (this.#used >= this.max) return false;
    if (this.#parent !== undefined && !this.#parent.take()) return false;
    this.#used++;
    return true;
  }

  give(): void {
    this.#used--;
    this.#parent?.give();
  }

  /** Takes a slot for `socket` until it closes; false when there is none. */
  hold(socket: Socket): boolean {
    if (!this.take()) return false;
    socket.once('close', () => this.give());
    return true;
  }
}

/** The most sockets one proxy holds: {@link MAX_PROXY_SOCKETS}, or half of RLIMIT_NOFILE. */
export const MAX_PROXY_SOCKETS = 4096;

/**
 * The proxy's budget on this machine: half the manager's own soft RLIMIT_NOFILE (Node raises it
 * to the hard limit at start) when that is below {@link MAX_PROXY_SOCKETS}, so the other half
 * stays for spawning tools, pipes and files.
 */
export function proxySocketBudget(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    if (soft !== undefined) return Math.max(64, Math.min(MAX_PROXY_SOCKETS, Number(soft) >> 1));
  } catch {
    // Not Linux: the fixed bound.
  }
  return MAX_PROXY_SOCKETS;
}
