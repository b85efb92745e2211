/**
 * Whether the OTLP collectors of a `toolcage run` answer at all, found out while its tool runs
 * (a TCP connect to each endpoint's host and port, closed at once), so the flush at exit knows
 * how long waiting can be worth: the exporters themselves retry a refused connection, after 1 s
 * and on until their export timeout (3 s by default), which a one-shot run should not sit out.
 */
import { connect, type Socket } from 'node:net';

/** What the probe found: every collector answered, one refused or failed, or not known yet. */
export type CollectorState =
  | { readonly kind: 'reachable' }
  | { readonly kind: 'unreachable'; readonly url: string; readonly reason: string }
  | { readonly kind: 'unknown' };

/** A probe under way. */
export interface CollectorProbe {
  /** The state now; never waits. */
  state(): CollectorState;
  /** Ends the connection attempts still under way. */
  close(): void;
}

/** Starts connecting to each distinct host:port of `urls` (http(s) OTLP endpoints). */
export function probeCollectors(urls: readonly string[]): CollectorProbe {
  const sockets: Socket[] = [];
  const pending = new Set<string>();
  let failed: { url: string; reason: string } | undefined;
  const targets = new Map<string, { url: string; host: string; port: number }>();
  for (const url of urls) {
    const target = targetOf(url);
    if (target === undefined) continue;
    targets.set(`${target.host}:${target.port}`, { url, ...target });
  }
  for (const [key, target] of targets) {
    pending.add(key);
    const socket = connect({ host: target.host, port: target.port });
    // The probe never keeps the process alive: a run that ends first does not wait for it.
    socket.unref();
    socket.once('connect', () => {
      pending.delete(key);
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      pending.delete(key);
      failed ??= { url: target.url, reason: error.code ?? error.message };
    });
    sockets.push(socket);
  }
  return {
    state() {
      if (failed !== undefined) return { kind: 'unreachable', ...failed };
      return pending.size === 0 && targets.size > 0 ? { kind: 'reachable' } : { kind: 'unknown' };
    },
    close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

// The host and port an OTLP/HTTP endpoint is reached at; undefined for what is not http(s).
function targetOf(url: string): { host: string; port: number } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  // URL keeps an IPv6 host in brackets; net.connect wants it bare.
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}
