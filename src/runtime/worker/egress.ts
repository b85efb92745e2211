/**
 * The sandbox's end of the egress proxy, started by main.ts (flag `--toolcage-egress=PORT,PATH`)
 * before the tool's code runs: a listener on the sandbox's own loopback (127.0.0.1:PORT, where
 * HTTP_PROXY points) that pipes each connection, unread, to the Unix socket PATH — the proxy of
 * this execution in the manager, bound into the sandbox. It decides nothing: the sandbox's
 * network namespace has no route out, so the socket is the only way out, and the manager's proxy
 * decides every connection through it. A tool that stops or bypasses this listener only loses
 * its own network. Runs inside Bun; imports nothing of the rest of toolcage.
 */
import { connect, createServer, type Socket } from 'node:net';

/** Listens on 127.0.0.1:PORT and forwards to the socket at PATH (`spec` is `PORT,PATH`). */
export function startEgress(spec: string): Promise<void> {
  const comma = spec.indexOf(',');
  const port = Number(spec.slice(0, comma));
  const path = spec.slice(comma + 1);
  const server = createServer((client: Socket) => {
    const upstream = connect(path);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  // The worker exits when the tool is done; the listener must not keep it alive before that.
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', (error: Error) =>
      reject(
        new Error(
          `toolcage's egress forwarder cannot listen on 127.0.0.1:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
}
