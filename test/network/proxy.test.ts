/**
 * The egress proxy on its own, driven by Node clients over its Unix socket. Every server is on
 * 127.0.0.1 and every name is mapped there by `hosts` (or an injected lookup): nothing here
 * resolves a real name or connects outside the loopback.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { normalizeNetworkOptions } from '../../src/network/network-options.js';
import { createEgressProxy } from '../../src/network/proxy.js';
import type { EgressSession } from '../../src/network/session.js';
import { until } from '../helpers/until.js';

let server: Server;
let port: number;
let serverSockets = 0;
const root = mkdtempSync(join(tmpdir(), 'proxy-test-'));
const sessions: EgressSession[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') {
      res.end('x'.repeat(64 * 1024));
      return;
    }
    if (req.url === '/hang') return; // never answers
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => res.end(JSON.stringify({ url: req.url, host: req.headers.host, body })));
  });
  server.on('connection', (socket: Socket) => {
    serverSockets++;
    socket.once('close', () => serverSockets--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close()));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

let count = 0;
async function open(
  allow: string[],
  options: {
    allowPrivateAddresses?: boolean | string[];
    maxConnections?: number;
    maxBytes?: number;
    idleTimeoutMs?: number;
    lookup?: (name: string) => Promise<string[]>;
  } = {},
): Promise<EgressSession> {
  const proxy = createEgressProxy(
    normalizeNetworkOptions({
      hosts: { 'allowed.test': '127.0.0.1', 'denied.test': '127.0.0.1' },
      allowPrivateAddresses: options.allowPrivateAddresses ?? true,
      idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    }),
    options.lookup,
  );
  const session = await proxy.open({
    allow,
    maxConnections: options.maxConnections ?? 8,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    directory: join(root, `s${count++}`),
  });
  sessions.push(session);
  return session;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

function get(session: EgressSession, url: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: session.socketPath, path: url, method: body === undefined ? 'GET' : 'POST' },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// CONNECT through the proxy; the tunnel's socket when it answers 200.
function connectThrough(
  session: EgressSession,
  authority: string,
): Promise<{ status: number; headers: IncomingMessage['headers']; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: session.socketPath, method: 'CONNECT', path: authority });
    req.on('connect', (res: IncomingMessage, socket: Socket) =>
      resolve({ status: res.statusCode!, headers: res.headers, socket }),
    );
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode!, headers: res.headers, socket: res.socket });
    });
    req.on('error', reject);
    req.end();
  });
}

// One HTTP/1.0 exchange over an open tunnel.
function exchange(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.0\r\nHost: allowed.test\r\n\r\n`);
  });
}

describe('the egress proxy', () => {
  test('forwards an absolute-form request to an allowed name, with Host from the target', async () => {
    const session = await open(['allowed.test']);
    const reply = await get(session, `http://allowed.test:${port}/a?b=1`, 'payload');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      url: '/a?b=1',
      host: `allowed.test:${port}`,
      body: 'payload',
    });
    expect(session.activity()).toMatchObject({ allowed: 1, denied: 0, denials: [] });
  });

  test('refuses a name, an address and a port outside the allow-list with 403 and the reason', async () => {
    const session = await open([`allowed.test:${port}`]);
    for (const url of [
      `http://denied.test:${port}/`,
      `http://127.0.0.1:${port}/`,
      `http://allowed.test:${port + 1 > 65535 ? port - 1 : port + 1}/`,
    ]) {
      const reply = await get(session, url);
      expect(reply.status).toBe(403);
      expect(reply.headers['x-toolcage-denied']).toBe('not in the allow-list');
    }
    const { denials, allowed, denied } = session.activity();
    expect({ allowed, denied }).toEqual({ allowed: 0, denied: 3 });
    expect(denials.map((d) => d.message)).toEqual([
      `connect to denied.test:${port}: not in the allow-list`,
      `connect to 127.0.0.1:${port}: not in the allow-list`,
      expect.stringMatching(/^connect to allowed\.test:\d+: not in the allow-list$/),
    ]);
  });

  test('refusals are all counted; the first 64 are kept, and the latest', async () => {
    const session = await open(['allowed.test']);
    for (let i = 0; i < 70; i++) {
      expect((await get(session, `http://denied.test:${1000 + i}/`)).status).toBe(403);
    }
    const activity = session.activity();
    expect(activity).toMatchObject({ denied: 70, deniedByPolicy: 70 });
    expect(activity.denials).toHaveLength(64);
    expect(activity.lastDenial?.message).toBe('connect to denied.test:1069: not in the allow-list');
  });

  test('tunnels CONNECT to an allowed name and refuses a denied one', async () => {
    const session = await open(['allowed.test']);
    const tunnel = await connectThrough(session, `allowed.test:${port}`);
    expect(tunnel.status).toBe(200);
    expect(await exchange(tunnel.socket, '/through-tunnel')).toContain('"/through-tunnel"');
    const refused = await connectThrough(session, `denied.test:${port}`);
    expect(refused.status).toBe(403);
    expect(refused.headers['x-toolcage-denied']).toBe('not in the allow-list');
    refused.socket.destroy();
  });

  test('without allowPrivateAddresses an allowed name mapped to loopback is refused with the reason', async () => {
    const session = await open(['allowed.test'], { allowPrivateAddresses: false });
    const reply = await get(session, `http://allowed.test:${port}/`);
    expect(reply.status).toBe(403);
    expect(reply.headers['x-toolcage-denied']).toBe('resolves to 127.0.0.1, a loopback address');
    const literal = await open(['127.0.0.1'], { allowPrivateAddresses: false });
    const tunnel = await connectThrough(literal, `127.0.0.1:${port}`);
    expect(tunnel.status).toBe(403);
    expect(tunnel.headers['x-toolcage-denied']).toBe('127.0.0.1 is a loopback address');
    tunnel.socket.destroy();
    expect(serverSockets).toBe(0);
  });

  test('an allowPrivateAddresses list admits exactly its blocks', async () => {
    const session = await open(['allowed.test', '127.0.0.1'], {
      allowPrivateAddresses: ['127.0.0.0/8'],
    });
    expect((await get(session, `http://allowed.test:${port}/listed`)).status).toBe(200);
    const tunnel = await connectThrough(session, `127.0.0.1:${port}`);
    expect(tunnel.status).toBe(200);
    tunnel.socket.destroy();
    const other = await open(['allowed.test'], { allowPrivateAddresses: ['10.0.0.0/8'] });
    const reply = await get(other, `http://allowed.test:${port}/`);
    expect(reply.status).toBe(403);
    expect(reply.headers['x-toolcage-denied']).toBe(
      'resolves to 127.0.0.1, a loopback address outside `allowPrivateAddresses`',
    );
    expect(other.activity().lastDenial?.message).toBe(
      `connect to allowed.test:${port}: resolves to 127.0.0.1, a loopback address outside \`allowPrivateAddresses\``,
    );
  });

  test('resolves a name once and connects to the address it checked (DNS rebinding)', async () => {
    const answers = [['127.0.0.1'], ['127.0.0.2']];
    const asked: string[] = [];
    const session = await open(['rebind.example.com'], {
      lookup: (name) => {
        asked.push(name);
        return Promise.resolve(answers.shift() ?? []);
      },
    });
    const reply = await get(session, `http://rebind.example.com:${port}/pinned`);
    expect(reply.status).toBe(200);
    expect(asked).toEqual(['rebind.example.com']);
  });

  test('reserved names outside `hosts` are refused without a lookup', async () => {
    const asked: string[] = [];
    const session = await open(['other.test', 'other.invalid'], {
      lookup: (name) => {
        asked.push(name);
        return Promise.resolve(['127.0.0.1']);
      },
    });
    const reply = await get(session, `http://other.test:${port}/`);
    expect(reply.status).toBe(403);
    expect(reply.headers['x-toolcage-denied']).toMatch(/does not resolve .*reserved name/);
    expect(asked).toEqual([]);
  });

  test('refuses requests that are not absolute-form http', async () => {
    const session = await open(['allowed.test']);
    expect((await get(session, '/relative')).status).toBe(400);
    expect((await get(session, `https://allowed.test:${port}/`)).status).toBe(400);
    const bad = await connectThrough(session, 'allowed.test');
    expect(bad.status).toBe(400);
    bad.socket.destroy();
  });

  test('caps the connections open at once (429, the limit recorded)', async () => {
    const session = await open(['allowed.test'], { maxConnections: 1 });
    const first = await connectThrough(session, `allowed.test:${port}`);
    expect(first.status).toBe(200);
    const second = await connectThrough(session, `allowed.test:${port}`);
    expect(second.status).toBe(429);
    expect(second.headers['x-toolcage-denied']).toBe(
      'network limit: more than 1 connections at once',
    );
    second.socket.destroy();
    first.socket.destroy();
    await until(() => serverSockets === 0);
    const third = await connectThrough(session, `allowed.test:${port}`);
    expect(third.status).toBe(200);
    third.socket.destroy();
    expect(session.activity().limit).toBe('more than 1 connections at once');
  });

  test('ends every connection when the byte budget is spent, and refuses more', async () => {
    const session = await open(['allowed.test'], { maxBytes: 16 * 1024 });
    const failed = await get(session, `http://allowed.test:${port}/big`).then(
      (reply) => reply.body.length,
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(failed).not.toBe(64 * 1024);
    expect(session.activity().limit).toBe('more than 0.02 MiB through the network');
    const after = await get(session, `http://allowed.test:${port}/`);
    expect(after.status).toBe(429);
    await until(() => serverSockets === 0 && session.openSockets === 0);
  });

  test('closes an idle tunnel after the idle timeout', async () => {
    const session = await open(['allowed.test'], { idleTimeoutMs: 150 });
    const tunnel = await connectThrough(session, `allowed.test:${port}`);
    expect(tunnel.status).toBe(200);
    await new Promise((resolve) => tunnel.socket.once('close', resolve));
    await until(() => serverSockets === 0);
  });

  test('close() ends every connection at once and leaves nothing behind', async () => {
    const session = await open(['allowed.test']);
    const tunnel = await connectThrough(session, `allowed.test:${port}`);
    const pending = get(session, `http://allowed.test:${port}/hang`).catch(
      (error: NodeJS.ErrnoException) => error.code,
    );
    await until(() => serverSockets === 2);
    const closed = new Promise((resolve) => tunnel.socket.once('close', resolve));
    await session.close();
    await closed;
    expect(await pending).toBe('ECONNRESET');
    await until(() => serverSockets === 0);
    expect(session.openSockets).toBe(0);
    expect(existsSync(session.directory)).toBe(false);
  });

  test('a session that cannot listen rejects and removes its directory', async () => {
    const proxy = createEgressProxy(normalizeNetworkOptions({}));
    const spec = { allow: ['allowed.test'], maxConnections: 1, maxBytes: 1 };
    await expect(proxy.open({ ...spec, directory: root })).rejects.toThrow(/EEXIST/);
    expect(existsSync(root)).toBe(true);
    // A Unix socket path holds at most 107 bytes.
    const tooLong = join(root, 'x'.repeat(120));
    await expect(proxy.open({ ...spec, directory: tooLong })).rejects.toThrow();
    expect(existsSync(tooLong)).toBe(false);
  });
});

describe('a raw TCP server is not an HTTP proxy target for garbage', () => {
  test('a malformed request gets 400 and no connection is made', async () => {
    const target = createNetServer();
    let connections = 0;
    target.on('connection', (socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const session = await open(['allowed.test']);
      const reply = await get(session, 'http://allowed..test/');
      expect(reply.status).toBe(400);
      expect(connections).toBe(0);
      expect(session.activity().denials[0]?.reason).toMatch(/empty label/);
    } finally {
      await new Promise((resolve) => target.close(resolve));
    }
  });
});
