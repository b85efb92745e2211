// A raw TCP connection (no proxy) to host:port, or to an abstract Unix socket (`abstract`).
import { connect } from 'node:net';

export default function rawConnect(input: { host?: string; port?: number; abstract?: string }) {
  return new Promise((resolve, reject) => {
    const socket =
      input.abstract !== undefined
        ? connect({ path: `\0${input.abstract}` })
        : connect({ host: input.host ?? '127.0.0.1', port: input.port ?? 0 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', reject);
  });
}
