// node:http through the sandbox's HTTP proxy, as a Node program would use one by hand:
// `absolute` sends `GET http://host:port/path` to the proxy; `connect` opens a CONNECT tunnel
// and speaks TLS through it (verification off: the test's server has a self-signed certificate).
import { request, type IncomingMessage } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';

export default async function nodeHttp(input: { url: string; mode: 'absolute' | 'connect' }) {
  const proxy = new URL(process.env['HTTP_PROXY'] ?? '');
  const target = new URL(input.url);
  if (input.mode === 'absolute') {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        host: proxy.hostname,
        port: Number(proxy.port),
        path: input.url,
        headers: { host: target.host },
      });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    const body = await readAll(response);
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${body.trim()}`);
    return body;
  }
  const socket = await new Promise<Socket>((resolve, reject) => {
    const req = request({
      host: proxy.hostname,
      port: Number(proxy.port),
      method: 'CONNECT',
      path: `${target.hostname}:${target.port}`,
    });
    req.on('connect', (response: IncomingMessage, tunnel: Socket) => {
      if (response.statusCode === 200) resolve(tunnel);
      else reject(new Error(`the proxy answered ${response.statusCode} to CONNECT`));
    });
    req.on('response', (response: IncomingMessage) =>
      reject(new Error(`the proxy answered ${response.statusCode} to CONNECT`)),
    );
    req.on('error', reject);
    req.end();
  });
  const tls = tlsConnect({ socket, servername: target.hostname, rejectUnauthorized: false });
  tls.write(`GET ${target.pathname} HTTP/1.0\r\nHost: ${target.host}\r\n\r\n`);
  const raw = await readAll(tls);
  return raw.slice(raw.indexOf('\r\n\r\n') + 4);
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}
