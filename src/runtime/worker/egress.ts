/**
 * The sandbox's end of the egress proxy, started by run.ts (`--toolcage-egress=PORT,PATH`) before
 * the tool's code runs: a listener on the sandbox's loopback (127.0.0.1:PORT, where HTTP_PROXY
 * points) that pipes each connection, unread, to the Unix socket PATH, the manager's proxy of this
 * execution. It decides nothing: the sandbox has no route out but that socket, so a tool that
 * stops or bypasses this listener only loses its own network. Runs inside Bun; imports nothing.
 * Bun's own sockets, not node:net, whose import is slow in a fresh Bun (docs/performance.md,
 * "node:net in the sandbox's forwarder"); they have no pipe(), so each direction buffers what the
 * other could not take yet, pauses its source until `drain`, and passes an end on once empty.
 */

// A socket of the forwarder: its `data` is the direction its bytes go.
type BunSocket = Bun.Socket<Direction>;

/** One side of a connection: where its bytes go, and what is waiting to go there. */
interface Direction {
  peer: BunSocket | undefined;
  /** The socket whose bytes these are (paused while `queue` is not empty). */
  source: BunSocket | undefined;
  queue: Uint8Array[];
  /** The source has closed: end the peer once the queue is empty. */
  ending: boolean;
  /** The other direction of the same connection. */
  back: Direction | undefined;
}

function direction(): Direction {
  return { peer: undefined, source: undefined, queue: [], ending: false, back: undefined };
}

// Writes what the peer takes; keeps the rest (a copy: Bun may reuse the chunk) and pauses the
// source until the peer drains.
function send(way: Direction, chunk: Uint8Array): void {
  if (way.peer === undefined || way.queue.length > 0) {
    way.queue.push(chunk.slice());
    return;
  }
  const written = Math.max(0, way.peer.write(chunk));
  if (written < chunk.length) {
    way.queue.push(chunk.slice(written));
    way.source?.pause();
  }
}

// The peer can take more: write the queue out, resume the source, pass an end on.
function flush(way: Direction): void {
  const peer = way.peer;
  if (peer === undefined) return;
  while (way.queue.length > 0) {
    const chunk = way.queue[0]!;
    const written = Math.max(0, peer.write(chunk));
    if (written < chunk.length) {
      way.queue[0] = chunk.subarray(written);
      return;
    }
    way.queue.shift();
  }
  way.source?.resume();
  if (way.ending) peer.end();
}

function close(way: Direction): void {
  way.ending = true;
  flush(way);
}

// Handlers of the sockets to the proxy: each one's `data` is the direction towards the client.
const upstreamHandlers: Bun.SocketHandler<Direction> = {
  data: (socket, chunk) => send(socket.data, chunk),
  drain: (socket) => flush(socket.data.back!),
  close: (socket) => close(socket.data),
  error: (socket) => close(socket.data),
};

/** Listens on 127.0.0.1:PORT and forwards to the socket at PATH (`spec` is `PORT,PATH`). */
export function startEgress(spec: string): Promise<void> {
  const comma = spec.indexOf(',');
  const port = Number(spec.slice(0, comma));
  const path = spec.slice(comma + 1);
  try {
    const server = Bun.listen<Direction>({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(client) {
          const out = direction();
          const back = direction();
          out.source = client;
          out.back = back;
          back.peer = client;
          back.back = out;
          client.data = out;
          Bun.connect({ unix: path, socket: upstreamHandlers, data: back }).then(
            (upstream) => {
              back.source = upstream;
              out.peer = upstream;
              flush(out);
            },
            () => client.end(),
          );
        },
        data: (client, chunk) => send(client.data, chunk),
        drain: (client) => flush(client.data.back!),
        close: (client) => close(client.data),
        error: (client) => close(client.data),
      },
    });
    // The worker exits when the tool is done; the listener must not keep it alive before that.
    server.unref?.();
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(
      new Error(
        `toolcage's egress forwarder cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`,
      ),
    );
  }
}
