/**
 * The worker: the Bun side of one execution, single-use. Reads one request line on stdin,
 * imports the tool, calls its export, writes exactly one JSON message on fd 3, and exits;
 * control lines after the request (`abort`) abort `context.signal`. Self-contained and as short
 * as it can be: Bun compiles every statement it runs the first time, so every other path lives
 * in fallback.ts, loaded only when taken. Its flags (`--toolcage-preload`, `--toolcage-egress`,
 * `--toolcage-grace`) are in protocol.ts. It never touches `process.stdout`/`process.stdin`
 * (Bun sets them up on first access, slowly). Why: docs/architecture.md, "The worker".
 */
import type * as EgressModule from './egress.js';
import type * as FallbackModule from './fallback.js';
import {
  EGRESS_FLAG,
  GRACE_FLAG,
  PRELOAD_FLAG,
  type WorkerPhase,
  type WorkerRequest,
} from './protocol.js';

type Fallback = typeof FallbackModule;
type Egress = typeof EgressModule;
type ToolFunction = (input: unknown, context: unknown) => unknown;
type ToolModule = Record<string, unknown>;
/** What a tool's bundle leaves for the worker it carries (see src/bundling/embed.ts). */
interface Embedded {
  /** Evaluates the tool's module (once) and gives its exports. */
  readonly load: () => Promise<ToolModule>;
  /** This module's own URL as built into the bundle: its slow paths are found beside it. */
  readonly worker: string;
}

const EMBEDDED = Symbol.for('toolcage.embedded');
const RUNNING = Symbol.for('toolcage.worker');
type Slots = { [EMBEDDED]?: Embedded; [RUNNING]?: true };

// The slow paths are found beside this module: in a bundle, beside the file it was built from.
function besideMe(name: string): string {
  const base = embedded?.worker ?? import.meta.url;
  return new URL(base.endsWith('.ts') ? `${name}.ts` : `${name}.js`, base).href;
}

// By URL, not a literal: the bundler that builds dist/ must leave fallback.js a module of its own.
function fallback(): Promise<Fallback> {
  return import(besideMe('fallback')) as Promise<Fallback>;
}

// `--toolcage-egress=PORT,PATH` (an allow-list): egress.ts, loaded only then, listens where
// HTTP_PROXY points before the tool's code runs.
function startEgress(spec: string): void {
  egress = (import(besideMe('egress')) as Promise<Egress>).then((m) => m.startEgress(spec));
  egress.catch(() => {});
}

// The tool's module: from the bundle this process runs, imported ahead (preload), or imported
// now. A bundle imported here that carries a worker leaves its loader as it is evaluated.
async function loadTool(toolPath: string): Promise<ToolModule> {
  // Started on a tool's bundle: that is the tool (the pool names the same module in the
  // request). Not compared with process.argv[1], which Bun resolves through symlinks.
  if (embedded !== undefined) return embedded.load();
  let module = (await import(toolPath)) as ToolModule;
  const carried = (globalThis as Slots)[EMBEDDED];
  if (carried !== undefined) {
    delete (globalThis as Slots)[EMBEDDED];
    return carried.load();
  }
  // A bundle is CommonJS (for Bun's bytecode). Observed on Bun 1.4.5: where its nearest
  // package.json says "type": "module", import() gives { __esModule, default: module.exports }
  // instead of unwrapping `module.exports` as it does everywhere else.
  if (module['__esModule'] === true) module = module['default'] as ToolModule;
  return module;
}

// Exactly one message: set when a result or an error is on its way, so that a late result after
// an uncaught error (or the reverse) is dropped.
let sent = false;
let failing: Promise<unknown> | undefined;

// Reports a failure (fallback.ts builds the message); settles once it is written.
function fail(phase: WorkerPhase, error: unknown): Promise<unknown> {
  if (!sent) {
    sent = true;
    failing = fallback().then((f) => f.writeError(phase, error));
  }
  return failing ?? Promise.resolve();
}

// An error thrown in a timer or a rejection nobody handles is the tool failing, as it would
// crash a plain Node process. Observed on Bun 1.4.5: while this entry's top-level await is
// pending, such an error is only printed and the tool goes on to "succeed".
function failAndExit(error: unknown): void {
  void fail('call', error).finally(() => process.exit(0));
}

// The flags after the entry (pool.ts): `--toolcage-preload=<path>` imports that module at once,
// ahead of the request (a rejection is kept for the request: a `load` error then);
// `--toolcage-grace` (a kill grace period) turns SIGTERM into an abort so the tool gets its
// chance to stop (SIGKILL follows either way) — without it SIGTERM ends the process at once.
function readFlags(): void {
  for (const flag of process.argv.slice(2)) {
    if (flag.startsWith(EGRESS_FLAG)) startEgress(flag.slice(EGRESS_FLAG.length));
    if (flag.startsWith(PRELOAD_FLAG)) preloadPath = flag.slice(PRELOAD_FLAG.length);
    if (flag === GRACE_FLAG) {
      process.on('SIGTERM', () => controller.abort(new Error('The execution was terminated')));
    }
  }
  if (preloadPath !== undefined) {
    preloaded = loadTool(preloadPath);
    preloaded.catch(() => {});
  }
}

// Control lines after the request (`abort`) are read on in fallback.ts once stdin has more to
// say; its end comes only after the process has exited, so a successful run never loads it.
function watchControl(rest: string): void {
  void fallback().then((f) => f.watchControl(reader, rest, controller));
}

// Reads stdin on for control lines. Only for a tool still running when its function returned
// (a promise): a synchronous one cannot see an abort, and a pending read costs every run that
// starts it (docs/performance.md, "A pending stdin read in the worker").
function listen(): void {
  void reader.read().then((chunk) => chunk.done || watchControl(decoder.decode(chunk.value)));
}

// The tool's `context.logger`: lines on stderr, which the manager captures as a log stream.
function makeLogger(toolId: string): Record<string, (...args: unknown[]) => void> {
  const log =
    (level: string) =>
    (...args: unknown[]): void =>
      console.error(`[${level}] ${toolId}:`, ...args);
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * Ends fd 3 now, so the manager has the whole result (its end of file) without waiting for the
 * exit: Bun's own exit, and the kernel's teardown of its address space before the descriptors
 * close, come milliseconds later. fd 3 is a stream socket (the launcher's connection, or libuv's
 * socketpair), which Bun.connect takes by descriptor, the cheapest close: node:fs's closeSync
 * would cost its import, bun:ffi's close more, and a FileSink's end() or close() leaves a
 * descriptor it did not open alone (docs/performance.md, "Ending fd 3 before the exit"). Not a
 * socket: the exit closes it, as before.
 */
async function endResult(): Promise<void> {
  const options = { fd: 3, socket: { data() {} } };
  try {
    const socket = await Bun.connect(options as unknown as Parameters<typeof Bun.connect>[0]);
    socket.end();
  } catch {
    // The exit ends it.
  }
}

function noRequest(): never {
  throw Object.assign(new Error('no request on stdin'), { stack: undefined });
}

// The request: the first line on stdin. Then one try, the phase said as it goes: fewer
// statements to compile than a try per phase.
async function main(): Promise<void> {
  const text = await readRequestLine();
  let phase: WorkerPhase = 'protocol';
  try {
    const at = text.indexOf('\n');
    const request = (
      text === '' ? noRequest() : JSON.parse(at === -1 ? text : text.slice(0, at))
    ) as WorkerRequest;
    const rest = at !== -1 && at + 1 < text.length;
    if (rest) watchControl(text.slice(at + 1));
    if (egress !== undefined) await egress;
    for (const name in request.env) process.env[name] = request.env[name];
    phase = 'load';
    const module =
      preloadPath === request.toolPath ? await preloaded! : await loadTool(request.toolPath);
    phase = 'export';
    const exported = module[request.exportName];
    const fn =
      typeof exported === 'function' ? exported : (await fallback()).pickExport(module, request);
    if (typeof fn === 'string') await fail('export', { name: 'Error', message: fn });
    else {
      phase = 'call';
      const output: unknown = await callTool(fn as ToolFunction, request, rest);
      phase = 'output';
      await writeResult(output);
    }
  } catch (error) {
    await fail(phase, error);
  }
  await failing;
  // Exit at once: timers or sockets the tool left open must not keep the process alive.
  process.exit(0);
}

// Reads stdin up to the end of its first line (or its end); what came after stays in the text.
async function readRequestLine(): Promise<string> {
  let text = '';
  while (!ended && !text.includes('\n')) {
    const chunk = await reader.read();
    ended = chunk.done;
    if (!ended) text += decoder.decode(chunk.value, { stream: true });
  }
  return text;
}

// Calls the tool's function; listens for control lines while a promise it returned is pending
// (unless they are already being read: `rest`).
function callTool(fn: ToolFunction, request: WorkerRequest, rest: boolean): unknown {
  const toolId = request.toolId;
  let logger: ReturnType<typeof makeLogger> | undefined;
  const pending = fn(request.input, {
    config: request.config,
    signal: controller.signal,
    toolId,
    executionId: request.executionId,
    // Made on first use: most tools never log.
    get logger() {
      return (logger ??= makeLogger(toolId));
    },
  });
  if (!rest && !ended && typeof (pending as { then?: unknown } | null)?.then === 'function') {
    listen();
  }
  return pending;
}

// Writes the one result message on fd 3 (unless a message is already on its way).
async function writeResult(output: unknown): Promise<void> {
  // A tool that returns nothing (`undefined`) yields `null`, like a JSON-RPC void result.
  const json = output === undefined ? 'null' : (JSON.stringify(output) as string | undefined);
  if (json === undefined) {
    if (!sent) await fallback().then((f) => f.writeNotJson(output));
  } else if (!sent) {
    sent = true;
    // Assembled by hand so a large result is serialised once. TextEncoder, not Buffer: Bun
    // sets up `Buffer` on its first use. Bun.write, not node:fs's writeSync: importing
    // node:fs costs Bun more CPU at every start than the rest of the worker's own work
    // (docs/performance.md, "The worker's result write"). Bun.write writes it all (fd 3 is a
    // socket the manager reads as a stream; it resolves once every byte is written).
    const bytes = new TextEncoder().encode(`{"type":"result","output":${json}}`);
    await Bun.write(Bun.file(3), bytes);
    // Bounded: should the end ever hang, the exit ends fd 3 as before.
    await Promise.race([endResult(), Bun.sleep(20)]);
  }
}

let embedded: Embedded | undefined;
const controller = new AbortController();
let preloadPath: string | undefined;
let preloaded: Promise<ToolModule> | undefined;
let egress: Promise<void> | undefined;
// stdin, opened by the running worker only: a copy that stands down must not touch it.
function openStdin() {
  return Bun.stdin.stream().getReader();
}
let reader: ReturnType<typeof openStdin>;
const decoder = new TextDecoder();
let ended = false;

/**
 * Runs the execution; settles when it is over (the process exits at its end). Does nothing
 * when a worker already runs in this process: then this copy came in a bundle that worker
 * imports as its tool, and the loader the bundle left is that worker's to take.
 */
export function startWorker(): Promise<void> {
  if ((globalThis as Slots)[RUNNING] === true) return Promise.resolve();
  (globalThis as Slots)[RUNNING] = true;
  // The bundle this process runs may carry the tool (see the top of this file); taken from the
  // global at once, so that the tool never sees it there.
  embedded = (globalThis as Slots)[EMBEDDED];
  delete (globalThis as Slots)[EMBEDDED];
  process.on('uncaughtException', failAndExit);
  process.on('unhandledRejection', failAndExit);
  reader = openStdin();
  if (process.argv.length > 2) readFlags();
  return main();
}
