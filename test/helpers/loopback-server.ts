/**
 * A test's HTTP (or HTTPS) server on 127.0.0.1, counting its open connections: the upstream a
 * tool reaches through the egress proxy. Subclasses answer the requests.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class LoopbackServer {
  readonly server: Server;
  port = 0;
  open = 0;

  constructor(server: Server) {
    this.server = server;
    server.on('connection', (socket: Socket) => {
      this.open++;
      socket.once('close', () => this.open--);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
