/**
 * Moving bytes for an allowed connection: an absolute-form HTTP request forwarded to the exact
 * address that was checked, or a CONNECT tunnel to it (no TLS interception). Node parses HTTP on
 * both sides; this file only copies headers (minus hop-by-hop ones) and bodies, and counts bytes.
 */
import {
  request as httpRequest,
  type Agent,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Target } from './host-patterns.js';
import { BUDGET_SPENT } from './upstream.js';

/** What a relay reports to its session. */
export interface RelayMeter {
  /** Bytes moved in either direction (the session enforces its byte budget here). */
  count(bytes: number): void;
  /**
   * Opens a connection to a server for a tunnel, within the session's budget (closed with the
   * execution, and after its idle timeout); undefined when the budget is spent.
   */
  open(address: string, port: number): Socket | undefined;
  /** The connection's slot is free again. Calls after the first do nothing (the session guards it). */
  release(): void;
  /** The session's keep-alive agent for forwarded requests (see upstream.ts). */
  readonly agent: Agent;
}

// RFC 9110 §7.6.1 and the proxy-only ones: never forwarded. `host` is set from the target.
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** The framing headers of a forwarded request's body, or why it cannot be forwarded. */
export type Framing = { readonly headers: readonly string[] } | { readonly problem: string };

/**
 * How the body of `req` is framed towards the server: always by the proxy, never by copying the
 * tool's headers. Node's client sends a GET's body with no framing at all unless told, and the
 * server read a chunked GET's body as a second request (request smuggling). Node's parser has
 * already refused Content-Length with Transfer-Encoding, repeated or conflicting lengths and
 * obs-fold; a coding other than `chunked` is refused here (the body arrives decoded).
 */
export function requestFraming(req: IncomingMessage): Framing {
  const coding = req.headers['transfer-encoding'];
  if (coding !== undefined) {
    return coding.trim().toLowerCase() === 'chunked'
      ? { headers: ['Transfer-Encoding', 'chunked'] }
      : { problem: `Transfer-Encoding \`${coding.slice(0, 40)}\` is not supported (only chunked)` };
  }
  const length = req.headers['content-length'];
  return { headers: length === undefined ? [] : ['Content-Length', length] };
}

/** Forwards one absolute-form request to `address` (never to what `target.host` resolves to now). */
export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  forward: { readonly target: Target; readonly path: string; readonly framing: readonly string[] },
  address: string,
  meter: RelayMeter,
): void {
  const { target, path, framing } = forward;
  meter.count(headerBytes(req.rawHeaders));
  const upstream = httpRequest({
    host: address,
    port: target.port,
    method: req.method ?? 'GET',
    path,
    // An HTTP proxy sets Host from the request target (RFC 9112 §3.2.2): a tool cannot send an
    // allowed server a Host header that routes it elsewhere (a shared front end).
    headers: [
      ...endToEnd(req.rawHeaders, ['content-length']),
      ...framing,
      'Host',
      hostHeader(target),
    ],
    setHost: false,
    agent: meter.agent,
  });
  upstream.once('close', () => meter.release());
  upstream.once('response', (response) => {
    meter.count(headerBytes(response.rawHeaders));
    res.writeHead(
      response.statusCode ?? 502,
      response.statusMessage,
      endToEnd(response.rawHeaders),
    );
    response.on('data', (chunk: Buffer) => meter.count(chunk.length));
    response.pipe(res);
  });
  upstream.once('error', (error: NodeJS.ErrnoException) => {
    meter.release();
    if (res.headersSent) res.destroy();
    else {
      const detail = `connect to ${hostHeader(target)} failed: ${error.code ?? error.message}`;
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`${detail}\n`);
    }
  });
  res.once('close', () => upstream.destroy());
  req.on('data', (chunk: Buffer) => meter.count(chunk.length));
  req.pipe(upstream);
}

/** Opens a CONNECT tunnel from `client` to `address`, answering 200 once it is connected. */
export function openTunnel(
  client: Socket,
  head: Buffer,
  target: Target,
  address: string,
  meter: RelayMeter,
): void {
  const close = (): void => {
    client.destroy();
    upstream.destroy();
    meter.release();
  };
  const opened = meter.open(address, target.port);
  if (opened === undefined) {
    client.end(statusResponse(503, 'Service Unavailable', {}, `${BUDGET_SPENT}\n`));
    meter.release();
    return;
  }
  const upstream = opened;
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) {
      meter.count(head.length);
      upstream.write(head);
    }
    client.on('data', (chunk: Buffer) => meter.count(chunk.length));
    upstream.on('data', (chunk: Buffer) => meter.count(chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.once('error', (error: NodeJS.ErrnoException) => {
    if (!connected && client.writable) {
      const body = `connect to ${hostHeader(target)} failed: ${error.code ?? error.message}\n`;
      client.end(statusResponse(502, 'Bad Gateway', {}, body));
      upstream.destroy();
      meter.release();
      return;
    }
    close();
  });
  upstream.once('close', close);
  client.once('close', close);
  client.on('error', close);
}

/** A whole HTTP/1.1 response as bytes, for a socket the HTTP server no longer manages. */
export function statusResponse(
  status: number,
  text: string,
  headers: Readonly<Record<string, string>>,
  body: string,
): string {
  const lines = [
    `HTTP/1.1 ${status} ${text}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    'content-type: text/plain; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

// Raw headers (name, value, name, value, …) without the hop-by-hop ones, those `Connection`
// names and `also`.
function endToEnd(raw: readonly string[], also: readonly string[] = []): string[] {
  const named = new Set([...HOP_BY_HOP, ...also]);
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === 'connection') {
      for (const token of (raw[i + 1] ?? '').split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!named.has(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
  }
  return kept;
}

function hostHeader(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return target.port === 80 ? host : `${host}:${target.port}`;
}

function headerBytes(raw: readonly string[]): number {
  let bytes = 0;
  for (const part of raw) bytes += part.length + 2;
  return bytes;
}
