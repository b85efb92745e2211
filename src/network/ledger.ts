/**
 * The books of one execution's egress proxy: connections open and allowed, refusals (kept for
 * the span and the classifier), bytes moved, and the network limits — connections at once and
 * bytes in total — with the first one hit. No I/O: the session asks, the ledger answers.
 */
import { describeTarget } from './target.js';

/** One refused connection. */
export interface NetworkDenial {
  /** The host as the tool named it (canonical), or the unparsable request target (cut). */
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

/** Refusals kept per execution (each becomes a span event); the rest are only counted. */
export const MAX_DENIAL_RECORDS = 64;

/** The books of one session. */
export class NetworkLedger {
  readonly #maxConnections: number;
  readonly #maxBytes: number;
  readonly #denials: NetworkDenial[] = [];
  #lastDenial: NetworkDenial | undefined;
  #open = 0;
  #bytes = 0;
  #allowed = 0;
  #denied = 0;
  #deniedByPolicy = 0;
  #limit: string | undefined;
  #exhausted = false;

  constructor(maxConnections: number, maxBytes: number) {
    this.#maxConnections = maxConnections;
    this.#maxBytes = maxBytes;
  }

  /** The byte budget is spent: every connection must go, and no new one may come. */
  get exhausted(): boolean {
    return this.#exhausted;
  }

  /** Takes a connection slot; or, over a limit, records the refusal and returns why. */
  reserve(): string | undefined {
    if (this.#exhausted) return this.limited(this.#limit ?? 'the network limit was hit');
    if (this.#open >= this.#maxConnections) {
      return this.limited(`more than ${this.#maxConnections} connections at once`);
    }
    this.#open++;
    return undefined;
  }

  /** Gives a slot back (the connection ended, or was refused after all). */
  release(): void {
    this.#open--;
  }

  /** A connection was let through. */
  allow(): void {
    this.#allowed++;
  }

  /** A refusal by the allow-list, the address rules, or a malformed request; recorded. */
  refuse(host: string, port: number | undefined, reason: string): NetworkDenial {
    this.#denied++;
    this.#deniedByPolicy++;
    // An unparsable target is the tool's own text: bounded before it goes anywhere.
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
    return denial;
  }

  /** A refusal by a limit; the first one is the execution's `limit`. Returns the reason. */
  limited(why: string): string {
    this.#denied++;
    this.#limit ??= why;
    return `network limit: ${why}`;
  }

  /** Counts bytes moved; true exactly once: when they pass the budget. */
  count(bytes: number): boolean {
    this.#bytes += bytes;
    if (this.#bytes <= this.#maxBytes || this.#exhausted) return false;
    this.#exhausted = true;
    const mib = Math.round((this.#maxBytes / 1024 / 1024) * 100) / 100;
    this.#limit ??= `more than ${mib} MiB through the network`;
    return true;
  }

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
}
