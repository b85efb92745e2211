/**
 * What a tool can make the egress proxy (and so the manager) hold, and how a request's body is
 * framed towards the server: raw clients on a session's Unix socket, servers on 127.0.0.1 only
 * (names are mapped there by `hosts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { normalizeNetworkOptions } from '../../src/network/network-options.js';
import {
  createEgressProxy,
  defaultProxyBounds,
  type ProxyBounds,
} from '../../src/network/proxy.js';
import type { EgressSession } from '../../src/network/session.js';
import { LoopbackServer } from '../helpers/loopback-server.js';
import { until } from '../helpers/until.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  readonly body: string;
}

/** A loopback server that records every request it parsed, and counts its connections. */
class RecordingServer extends LoopbackServer {
  readonly seen: Seen[] = [];

  constructor() {
    super(createServer());
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        this.seen.push({ method: req.method!, url: req.url!, host: req.headers.host, body });
        res.end(`seen ${req.url}`);
      });
    });
  }
}

const root = mkdtempSync(join(tmpdir(), 'proxy-bounds-'));
const sessions: EgressSession[] = [];
const sockets: Socket[] = [];
let server: RecordingServer;

beforeAll(async () => {
  server = await new RecordingServer().listen();
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(sessions.splice(0).map((session) => session.close()));
  server.seen.length = 0;
});

afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

let count = 0;
function proxy(bounds: Partial<ProxyBounds> = {}) {
  return createEgressProxy(
    normalizeNetworkOptions({
      hosts: { 'allowed.test': '127.0.0.1' },
      allowPrivateAddresses: ['127.0.0.0/8'],
      idleTimeoutMs: 10_000,
    }),
    undefined,
    { ...defaultProxyBounds(), ...bounds },
  );
}

async function open(maxConnections = 8, from = proxy()): Promise<EgressSession> {
  const session = await from.open({
    allow: ['allowed.test'],
    maxConnections,
    maxBytes: 1024 * 1024,
    directory: join(root, `s${count++}`),
  });
  sessions.push(session);
  return session;
}

/** A raw connection to the session's socket that has written `text`. */
async function raw(session: EgressSession, text: string): Promise<Socket> {
  const socket = connect(session.socketPath);
  sockets.push(socket);
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  if (text !== '') socket.write(text);
  return socket;
}

/** Everything `socket` receives until it closes. */
function whatComesBack(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.once('close', () => resolve(text));
  });
}

async function exchange(session: EgressSession, text: string): Promise<string> {
  const socket = await raw(session, text);
  return whatComesBack(socket);
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

describe('request framing towards the server', () => {
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: evil.test\r\n\r\n';

  test('a chunked GET body reaches the server as the body of one request', async () => {
    const session = await open();
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const response = await exchange(
      session,
      `GET http://allowed.test:${server.port}/first HTTP/1.1\r\nHost: allowed.test\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}`,
    );
    expect(statusOf(response)).toBe(200);
    // A second (smuggled) request the proxy had sent would be in by the time the server's end
    // of the connection is closed.
    await until(() => server.open === 0, { what: "the server's connection to close" });
    expect(server.seen).toEqual([
      { method: 'GET', url: '/first', host: `allowed.test:${server.port}`, body: smuggled },
    ]);
  });

  test('a Content-Length the tool names as hop-by-hop still frames the body', async () => {
    const session = await open();
    const response = await exchange(
      session,
      `GET http://allowed.test:${server.port}/second HTTP/1.1\r\nHost: allowed.test\r\n` +
        `Content-Length: ${smuggled.length}\r\nConnection: close, Content-Length\r\n\r\n${smuggled}`,
    );
    expect(statusOf(response)).toBe(200);
    await until(() => server.open === 0, { what: "the server's connection to close" });
    expect(server.seen.map((seen) => [seen.url, seen.body])).toEqual([['/second', smuggled]]);
  });

  test.each([
    [
      'Content-Length with Transfer-Encoding',
      'Content-Length: 5\r\nTransfer-Encoding: chunked',
      400,
    ],
    ['an obs-fold header', 'X-Folded: a\r\n b', 400],
    ['two Content-Lengths', 'Content-Length: 1\r\nContent-Length: 2', 400],
    ['a coding other than chunked', 'Transfer-Encoding: gzip, chunked', 501],
  ])('ambiguous or unsupported framing is refused: %s', async (_what, headers, status) => {
    const session = await open();
    const response = await exchange(
      session,
      `POST http://allowed.test:${server.port}/x HTTP/1.1\r\nHost: allowed.test\r\n${headers}\r\n` +
        `Connection: close\r\n\r\n0\r\n\r\n`,
    );
    expect(statusOf(response)).toBe(status);
    expect(server.seen).toEqual([]);
  });
});

describe('what a tool can make the proxy hold', () => {
  test('a request head over the size bound is answered 431 and closed', async () => {
    const session = await open();
    const head = `GET http://allowed.test:${server.port}/ HTTP/1.1\r\nX: ${'y'.repeat(17_000)}\r\n\r\n`;
    const response = await exchange(session, head);
    expect(statusOf(response)).toBe(431);
    expect(session.activity().limit).toBe('a request head larger than 16384 bytes');
    expect(server.seen).toEqual([]);
  });

  test('a head not received in time is answered 408 and closed; so is a silent connection', async () => {
    const session = await open(8, proxy({ headTimeoutMs: 300 }));
    const partial = await raw(session, `GET http://allowed.test:${server.port}/ HTTP/1.1\r\nX: y`);
    const silent = await raw(session, '');
    const [partialGot, silentGot] = await Promise.all([
      whatComesBack(partial),
      whatComesBack(silent),
    ]);
    expect(statusOf(partialGot)).toBe(408);
    expect(statusOf(silentGot)).toBe(408);
    expect(session.activity().limit).toBe('a request head not received in 300 ms');
    await until(() => session.clientConnections === 0);
  });

  test('connections with unfinished heads count toward maxConnections; one more is closed at once', async () => {
    const session = await open(2);
    const head = `GET http://allowed.test:${server.port}/ HTTP/1.1\r\nX: y`;
    await raw(session, head);
    await raw(session, head);
    await until(() => session.clientConnections === 2);
    const third = await exchange(
      session,
      `GET http://allowed.test:${server.port}/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n`,
    );
    expect(statusOf(third)).toBe(429);
    expect(third).toContain('x-toolcage-denied: network limit: more than 2 connections at once');
    expect(session.clientConnections).toBe(2);
    expect(server.seen).toEqual([]);
  });

  test('a kept-alive connection between exchanges makes room for a new one', async () => {
    const session = await open(1);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request(
          {
            socketPath: session.socketPath,
            path: `http://allowed.test:${server.port}${path}`,
            agent,
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get('/kept')).toBe('seen /kept');
      expect(session.clientConnections).toBe(1);
      // A second client (its own connection) while the first one's is idle, kept alive.
      const response = await exchange(
        session,
        `GET http://allowed.test:${server.port}/new HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n`,
      );
      expect(statusOf(response)).toBe(200);
      expect(session.activity().limit).toBeUndefined();
    } finally {
      agent.destroy();
    }
  });

  test('idle connections to servers are kept for at most 4, over every server', async () => {
    const servers = await Promise.all(
      Array.from({ length: 6 }, () => new RecordingServer().listen()),
    );
    try {
      const session = await open();
      for (const each of servers) {
        const response = await exchange(
          session,
          `GET http://allowed.test:${each.port}/ HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n`,
        );
        expect(statusOf(response)).toBe(200);
      }
      await until(() => servers.reduce((sum, each) => sum + each.open, 0) <= 4);
      expect(servers.every((each) => each.seen.length === 1)).toBe(true);
    } finally {
      await Promise.all(servers.map((each) => each.close()));
    }
  });

  test("one proxy's socket budget bounds every session together", async () => {
    const shared = proxy({ maxSockets: 3 });
    const first = await open(8, shared);
    const second = await open(8, shared);
    const head = `GET http://allowed.test:${server.port}/ HTTP/1.1\r\nX: y`;
    for (let i = 0; i < 3; i++) await raw(first, head);
    await until(() => first.clientConnections === 3);
    const refused = await exchange(
      second,
      `GET http://allowed.test:${server.port}/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n`,
    );
    expect(statusOf(refused)).toBe(503);
    expect(refused).toContain('the egress proxy holds as many connections as it may');
    expect(second.clientConnections).toBe(0);
    // Not the tool's limit: the other session holds the sockets.
    expect(second.activity().limit).toBeUndefined();
    await first.close();
    const served = await exchange(
      second,
      `GET http://allowed.test:${server.port}/after HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(served)).toBe(200);
  });
});
