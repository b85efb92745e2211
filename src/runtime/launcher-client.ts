import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownedTempPrefix } from '../sandbox/sweep.js';
import type { LaunchPlan } from '../sandbox/types.js';
import { afterPoll } from './after-poll.js';
import { orAfter } from './or-after.js';
import { InFlight, type LaunchReport, type LauncherProcess } from './launcher-inflight.js';

export type { LauncherProcess };

/** How much of the launcher's stderr is kept to explain its end. */
const STDERR_TAIL = 2048;

type LauncherMessage = { ready: true } | LaunchReport;

// How long a request may wait for the launcher's answer (normally under a millisecond) before
// the launcher is taken for stuck, killed, and the request fails as not started.
const ANSWER_TIMEOUT_MS = 5_000;

/** Options of a {@link Launcher}. */
export interface LauncherOptions {
  /** How long a request waits for the launcher's answer before it is taken for stuck, ms. @default 5000 */
  readonly answerTimeoutMs?: number;
}

/**
 * The manager's side of the launcher (see launcher/main.ts for why there is one): starts it,
 * hands it launch plans and turns what comes back — four connections and the process's pid,
 * later its exit — into the SpawnedProcess spawnPlan returns.
 *
 * Every launch waits for it (runtime/spawn.ts); only where it cannot start at all (three
 * failures before it was ready) does a launch take the plan's fallback. If the launcher dies,
 * every process it started is killed (its group: the launcher was its parent) and ends as
 * killed; a new launcher is started for later calls.
 *
 * It never keeps Node alive by itself: the launcher process, its pipes and the server are
 * unref'd while nothing is in flight.
 */
export class Launcher {
  readonly #bunPath: string;
  readonly #entry: string;
  readonly #answerTimeoutMs: number;
  #state: 'off' | 'starting' | 'ready' | 'closed' = 'off';
  // Failures since the launcher was last ready.
  #failures = 0;
  // Each start is a generation: what an earlier launcher reports after its end changes nothing.
  #generation = 0;
  #dir: string | undefined;
  #server: Server | undefined;
  #child: ChildProcess | undefined;
  #stderr = '';
  #lines = '';
  // Launches waiting for their start or their end.
  readonly #inFlight = new InFlight(() => this.#letNodeExit());
  #ended: Promise<void> = Promise.resolve();
  #socketPath: string | undefined;
  // whenReady() callers, told once the launcher is ready or has failed.
  #readyWaiters: ((ready: boolean) => void)[] = [];

  constructor(bunPath: string, entry: string, options: LauncherOptions = {}) {
    this.#bunPath = bunPath;
    this.#entry = entry;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  }

  /**
   * Starts `plan`'s command and applies its confinement (its cgroups and temp dir made), or
   * returns undefined when the launcher is not running. Rejects when the process could not be
   * started (the launcher's reason, or its end).
   */
  spawn(plan: LaunchPlan): Promise<LauncherProcess> | undefined {
    if (this.#state === 'off') this.#start();
    if (this.#state !== 'ready') return undefined;
    const { token, started } = this.#inFlight.add();
    this.#keepNodeAlive();
    this.#child!.stdin!.write(`${JSON.stringify(launchRequest(token, plan))}\n`);
    // A launcher that does not answer is stuck: it fails (this request with it) and is replaced.
    // The timer goes as soon as the request is answered.
    let settled = false;
    void started.then(() => (settled = true));
    const answered = orAfter(started, this.#answerTimeoutMs, async () => {
      await afterPoll();
      if (!settled) this.#fail(`it did not answer within ${this.#answerTimeoutMs} ms`);
      return started;
    });
    return answered.then((value) => {
      if (value instanceof Error) throw value;
      return value;
    });
  }

  /** Starts the launcher if it is not running; true once it is ready, false if it failed. */
  whenReady(): Promise<boolean> {
    if (this.#state === 'off') this.#start();
    if (this.#state === 'ready') return Promise.resolve(true);
    if (this.#state === 'closed') return Promise.resolve(false);
    // Someone waits: the start keeps Node alive until it is over.
    this.#server?.ref();
    this.#keepNodeAlive();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** True once the launcher is up: spawn() then starts a plan. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** The launcher's pid and socket while it runs (for tests and diagnostics). */
  get running(): { pid: number; socketPath: string } | undefined {
    const pid = this.#child?.pid;
    if (this.#state !== 'ready' || pid === undefined || this.#socketPath === undefined)
      return undefined;
    return { pid, socketPath: this.#socketPath };
  }

  #tellReady(ready: boolean): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    this.#server?.unref();
    this.#letNodeExit();
    for (const waiter of waiters) waiter(ready);
  }

  /** Ends the launcher, once the caller has seen every process it started end. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return this.#ended;
    const starting = this.#state === 'starting';
    this.#state = 'closed';
    const child = this.#child;
    if (child === undefined) {
      this.#cleanUp();
      this.#tellReady(false);
    } else {
      this.#keepNodeAlive(); // close() is awaited: its end keeps Node alive until then
      // One still starting has started nothing: no need to wait for its start to end it.
      if (starting) child.kill('SIGKILL');
      else child.stdin?.end();
    }
    await this.#ended;
  }

  #start(): void {
    this.#state = 'starting';
    const generation = ++this.#generation;
    const fail = (why: string): void => {
      if (generation === this.#generation) this.#fail(why);
    };
    let dir: string;
    try {
      // Named after its owner: a sweep removes it if this process dies before the launcher does.
      dir = mkdtempSync(join(tmpdir(), ownedTempPrefix('launcher')));
    } catch {
      // No private directory for the socket: every launch takes its plan's fallback.
      this.#state = 'closed';
      this.#tellReady(false);
      return;
    }
    const socketPath = join(dir, 's');
    const server = createServer((socket) => this.#inFlight.accept(socket));
    server.unref();
    this.#dir = dir;
    this.#socketPath = socketPath;
    this.#server = server;
    // A manager that exits without close() leaves no socket directory behind.
    process.once('exit', this.#removeDir);
    server.once('error', (error) => fail(error.message));
    server.listen(socketPath, () => {
      if (this.#state !== 'starting') return;
      // The launcher gets none of the manager's environment: it needs none, and each process
      // gets its plan's own. The transpiler cache is off for the reason given in pool.ts.
      const child = spawn(
        this.#bunPath,
        ['--no-install', '--no-env-file', this.#entry, socketPath],
        { env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0' }, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      this.#child = child;
      this.#stderr = '';
      this.#lines = '';
      this.#ended = new Promise((resolve) => {
        child.once('close', (code, signal) => {
          fail(signal === null ? `it exited with code ${code}` : `it was killed by ${signal}`);
          resolve();
        });
      });
      child.once('error', (error) => fail(error.message));
      child.stdin?.on('error', () => {});
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (text: string) => this.#read(text));
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (text: string) => {
        this.#stderr = (this.#stderr + text).slice(-STDERR_TAIL);
      });
      this.#letNodeExit();
    });
  }

  // While something is in flight, the launcher keeps Node alive (exit reports are still to
  // come); otherwise it does not (#letNodeExit).
  #keepNodeAlive(): void {
    this.#child?.ref();
    for (const stream of this.#pipes()) stream.ref();
  }

  #letNodeExit(): void {
    if (this.#inFlight.busy || this.#readyWaiters.length > 0) return;
    // Closing: close() waits for the launcher's end, which must keep Node alive until then.
    if (this.#state === 'closed' && this.#child !== undefined) return;
    this.#child?.unref();
    for (const stream of this.#pipes()) stream.unref();
  }

  #pipes(): Socket[] {
    const child = this.#child;
    if (child === undefined) return [];
    return [child.stdin, child.stdout, child.stderr].filter(
      (stream) => stream !== null,
    ) as unknown[] as Socket[];
  }

  #read(text: string): void {
    this.#lines += text;
    for (let end = this.#lines.indexOf('\n'); end !== -1; end = this.#lines.indexOf('\n')) {
      const line = this.#lines.slice(0, end);
      this.#lines = this.#lines.slice(end + 1);
      let message: LauncherMessage;
      try {
        message = JSON.parse(line) as LauncherMessage;
      } catch {
        continue;
      }
      if ('ready' in message) {
        if (this.#state === 'starting') {
          this.#state = 'ready';
          this.#failures = 0;
        }
        this.#tellReady(this.#state === 'ready');
      } else {
        this.#inFlight.report(message);
      }
    }
  }

  // The launcher or its socket failed: what waits is told (it fails as not started), what runs
  // is killed and ends as killed, and a later call starts a new launcher — unless it failed
  // three times in a row before it was ready (it cannot start here: no libc.so.6, say), or the
  // launcher was closed.
  #fail(why: string): void {
    if (this.#child === undefined && this.#server === undefined) return;
    this.#generation++;
    const tail = this.#stderr.trim();
    const reason = `the toolcage launcher failed: ${why}${tail === '' ? '' : ` (${tail})`}`;
    this.#failures++;
    if (this.#state !== 'closed') this.#state = this.#failures >= 3 ? 'closed' : 'off';
    this.#inFlight.failAll(reason);
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null)
      child.kill('SIGKILL');
    this.#cleanUp();
    this.#tellReady(false);
  }

  #cleanUp(): void {
    this.#server?.close();
    this.#server = undefined;
    this.#child = undefined;
    this.#socketPath = undefined;
    this.#removeDir();
  }

  readonly #removeDir = (): void => {
    process.off('exit', this.#removeDir);
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  };
}

// What the launcher gets for one launch (its Request, in launcher/main.ts): the command with
// bwrap's hold descriptors where there are, and the plan's confinement.
function launchRequest(token: string, plan: LaunchPlan): object {
  const { hold, ...confinement } = plan.confinement;
  return {
    t: token,
    ...confinement,
    file: plan.file,
    args: hold?.args ?? plan.args,
    env: plan.env,
    cwd: plan.cwd,
    files: plan.extraFiles ?? [],
    ...(hold === undefined ? {} : { hold: { infoFd: hold.infoFd, blockFd: hold.blockFd } }),
  };
}
