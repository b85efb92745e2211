/**
 * The launches a launcher has in flight, by token: each waits for the launcher's answer (a pid,
 * or why it could not start) and its four connections, which the launcher dials to the manager's
 * socket, each beginning with a header naming its descriptor and token; then it runs until the
 * launcher reports its exit.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterPoll } from './after-poll.js';
import { killProcessGroup } from './kill-tree.js';
import type { ProcessEnd } from './process-end.js';

/** The header every connection of the launcher begins with: `<fd><32 hex digits>\n`. */
const HEADER_BYTES = 34;
/** A connection without its header by then is someone else's who reached the socket. */
const HEADER_TIMEOUT_MS = 2_000;

/** A process the launcher started: its four connections, its pid, and how it ended. */
export interface LauncherProcess {
  readonly stdio: readonly [Socket, Socket, Socket, Socket];
  readonly pid: number;
  /** Settles when the launcher has reaped it (or, the launcher gone, once it is killed). */
  readonly exited: Promise<ProcessEnd>;
}

/** What the launcher reports of one launch: its start or failure, later its end. */
export type LaunchReport =
  | { t: string; pid: number }
  | { t: string; error: string }
  | {
      t: string;
      code: number | null;
      signal: NodeJS.Signals | null;
      /** The sandbox ended before the tool's process started (ProcessEnd.sandboxFailed). */
      sandboxFailed?: string;
    };

interface Waiting {
  readonly sockets: (Socket | undefined)[];
  pid: number | undefined;
  error: string | undefined;
  readonly exit: (end: ProcessEnd) => void;
  readonly exited: Promise<ProcessEnd>;
  readonly settle: (started: LauncherProcess | Error) => void;
}

export class InFlight {
  readonly #waiting = new Map<string, Waiting>();
  readonly #running = new Map<string, { pid: number; exit: (end: ProcessEnd) => void }>();
  readonly #changed: () => void;

  /** `changed` is called whenever a launch is done waiting or has ended. */
  constructor(changed: () => void) {
    this.#changed = changed;
  }

  /** True while a launch waits for its start or its end. */
  get busy(): boolean {
    return this.#waiting.size > 0 || this.#running.size > 0;
  }

  /** A new launch: its token (for the request line), and its start or the reason it failed. */
  add(): { token: string; started: Promise<LauncherProcess | Error> } {
    const token = randomBytes(16).toString('hex');
    let exit!: (end: ProcessEnd) => void;
    const exited = new Promise<ProcessEnd>((resolve) => (exit = resolve));
    const started = new Promise<LauncherProcess | Error>((settle) => {
      this.#waiting.set(token, {
        sockets: [undefined, undefined, undefined, undefined],
        pid: undefined,
        error: undefined,
        exit,
        exited,
        settle,
      });
    });
    return { token, started };
  }

  /** Takes one of the launcher's reports. */
  report(message: LaunchReport): void {
    if ('code' in message) {
      const running = this.#running.get(message.t);
      this.#running.delete(message.t);
      running?.exit({
        code: message.code,
        signal: message.signal,
        ...(message.sandboxFailed === undefined ? {} : { sandboxFailed: message.sandboxFailed }),
      });
      this.#changed();
      return;
    }
    const waiting = this.#waiting.get(message.t);
    if (waiting === undefined) return;
    if ('pid' in message) {
      waiting.pid = message.pid;
      // Its exit may be reported before all its connections are accepted.
      this.#running.set(message.t, { pid: message.pid, exit: waiting.exit });
    } else {
      waiting.error = message.error;
    }
    this.#complete(message.t, waiting);
  }

  /** A connection to the manager's socket: one of a launch's four, by its header. */
  accept(socket: Socket): void {
    socket.on('error', () => {});
    // The launcher writes the header before it starts the process: a connection without one
    // soon is dropped rather than held open (once the loop has polled: after-poll.ts).
    let headed = false;
    socket.setTimeout(HEADER_TIMEOUT_MS, () => {
      void afterPoll().then(() => headed || socket.destroy());
    });
    const onReadable = (): void => {
      const header = socket.read(HEADER_BYTES) as Buffer | null;
      if (header === null) return;
      headed = true;
      socket.off('readable', onReadable);
      socket.setTimeout(0);
      const text = header.toString('latin1');
      const fd = Number(text[0]);
      const token = text.slice(1, HEADER_BYTES - 1);
      const waiting = this.#waiting.get(token);
      if (waiting === undefined || !(fd >= 0 && fd < 4) || waiting.sockets[fd] !== undefined) {
        socket.destroy();
        return;
      }
      waiting.sockets[fd] = socket;
      this.#complete(token, waiting);
    };
    socket.on('readable', onReadable);
    socket.once('end', () => socket.off('readable', onReadable));
  }

  /**
   * The launcher is gone: what waits fails with `reason` (as not started), what runs is killed
   * (its group) and ends as killed.
   */
  failAll(reason: string): void {
    for (const [token, waiting] of [...this.#waiting]) {
      this.#waiting.delete(token);
      for (const socket of waiting.sockets) socket?.destroy();
      waiting.settle(new Error(reason));
    }
    for (const [token, running] of [...this.#running]) {
      this.#running.delete(token);
      killProcessGroup(running.pid, 'SIGKILL');
      running.exit({ code: null, signal: 'SIGKILL', lost: reason });
    }
    this.#changed();
  }

  // A launch is complete with its answer and, once started, all four connections. A failed
  // launch's connections are closed (the launcher closed its ends too).
  #complete(token: string, waiting: Waiting): void {
    const [stdin, stdout, stderr, result] = waiting.sockets;
    if (waiting.error !== undefined) {
      this.#waiting.delete(token);
      for (const socket of waiting.sockets) socket?.destroy();
      waiting.settle(new Error(waiting.error));
      this.#changed();
    } else if (
      waiting.pid !== undefined &&
      stdin !== undefined &&
      stdout !== undefined &&
      stderr !== undefined &&
      result !== undefined
    ) {
      this.#waiting.delete(token);
      // The tool may write to its stdin (nothing reads it): what it writes is dropped.
      stdin.resume();
      waiting.settle({
        stdio: [stdin, stdout, stderr, result],
        pid: waiting.pid,
        exited: waiting.exited,
      });
      this.#changed();
    }
  }
}
