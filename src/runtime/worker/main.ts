/**
 * The Bun-side entry of one execution. Runs inside Bun (never in Node), single-use:
 * reads one request line on stdin, imports the tool, calls its export, writes exactly one
 * JSON message on fd 3, and exits. Control lines after the request (`abort`) abort
 * `context.signal`.
 *
 * Self-contained on purpose (no imports from the rest of toolcage): it is the first thing
 * Bun loads, and every module it pulls in is start-up time of every execution.
 *
 * A prewarmed process of a tool registered with `preload` gets `--toolcage-preload=<tool path>`
 * after the entry and imports that module at once, before its request (and its env) arrives;
 * the request then uses it when it names the same path.
 *
 * With `--toolcage-grace` (the runtime has a kill grace period) a SIGTERM aborts `context.signal`
 * instead of ending the process at once.
 *
 * It never touches `process.stdout`/`process.stdin`: Bun initialises those lazily and the
 * first access costs ~14 ms (measured on Bun 1.4), more than the rest of the worker.
 *
 * Why the success path is top-level code that calls no function of its own: Bun
 * (JavaScriptCore) compiles each function on its first call. Measured on Bun 1.4.5 with
 * performance.now() probes: the first call of the async `main()` that used to hold this code
 * took 0.36–0.47 ms before its first statement ran, and the first call of any small function
 * ≈ 0.045 ms — on the path of every execution. The module's top level is compiled with the
 * module. Everything off the success path (errors, the logger, control lines, Compozy entries)
 * stays in functions that are compiled only when they run.
 */
import { writeSync } from 'node:fs';
import type { SerializedError, WorkerMessage, WorkerPhase, WorkerRequest } from './protocol.js';

// The one Bun API the worker uses; declared here so the package needs no Bun type definitions
// (they clash with Node's, which the rest of toolcage is written against).
declare const Bun: { readonly stdin: { stream(): ReadableStream<Uint8Array> } };

const RESULT_FD = 3;
const PRELOAD_ARG = '--toolcage-preload='; // kept in step with pool.ts
const GRACE_ARG = '--toolcage-grace'; // kept in step with pool.ts

// The flags after the entry (a loop, not `find`: no callback to compile).
let preloadPath: string | undefined;
let grace = false;
for (const flag of process.argv.slice(2)) {
  if (flag.startsWith(PRELOAD_ARG)) preloadPath = flag.slice(PRELOAD_ARG.length);
  else if (flag === GRACE_ARG) grace = true;
}
// The module imported ahead of the request, when asked to. A rejection is kept for the request
// (a `load` error then), never left unhandled.
const preloaded =
  preloadPath === undefined ? undefined : (import(preloadPath) as Promise<Record<string, unknown>>);
preloaded?.catch(() => {});

// The one result message goes on fd 3 with blocking writes: fd 3 is a socket the manager reads
// as a stream, so a large result flows without being buffered twice here. TextEncoder, not
// Buffer: Bun sets up `Buffer` on its first use (≈ 0.2 ms measured), TextEncoder is native.
let sent = false;
const encoder = new TextEncoder();

// Writes the one message. Exactly one: a late result after an uncaught error (or the reverse)
// is dropped. The success path inlines the same lines.
function send(message: WorkerMessage): void {
  if (sent) return;
  sent = true;
  const bytes = encoder.encode(JSON.stringify(message));
  for (let offset = 0; offset < bytes.length;) offset += writeSync(RESULT_FD, bytes, offset);
}

// An error message must fit the result channel whatever the output cap (the manager allows
// MAX_ERROR_MESSAGE_BYTES, see protocol.ts): each text field is cut, the cause chain is bounded.
// 6 links × (2 KiB + 4 KiB + 3 × 1 KiB) of characters stays far below it even when JSON escapes
// every character (6 bytes each).
const MAX_MESSAGE_CHARS = 2048;
const MAX_STACK_CHARS = 4096;
const MAX_FIELD_CHARS = 1024;
const MAX_CAUSE_DEPTH = 5;

function cut(text: string, max: number): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

// Turns anything thrown into a plain object, walking the `cause` chain (bounded) so the
// manager can see a sandbox error (EACCES, ECONNREFUSED…) the tool wrapped in its own.
function serializeError(value: unknown, depth = 0): SerializedError {
  if (typeof value !== 'object' || value === null) {
    return { name: 'Error', message: cut(String(value), MAX_MESSAGE_CHARS) };
  }
  const error = value as Record<string, unknown>;
  const out: SerializedError = {
    name: cut(typeof error['name'] === 'string' ? error['name'] : 'Error', MAX_FIELD_CHARS),
    message: cut(
      typeof error['message'] === 'string' ? error['message'] : describeThrown(value),
      MAX_MESSAGE_CHARS,
    ),
  };
  if (typeof error['stack'] === 'string') out.stack = cut(error['stack'], MAX_STACK_CHARS);
  if (typeof error['code'] === 'string' || typeof error['code'] === 'number') {
    out.code = cut(String(error['code']), MAX_FIELD_CHARS);
  }
  if (typeof error['syscall'] === 'string') out.syscall = cut(error['syscall'], MAX_FIELD_CHARS);
  if (typeof error['path'] === 'string') out.path = cut(error['path'], MAX_FIELD_CHARS);
  if (typeof error['errno'] === 'number') out.errno = error['errno'];
  if (error['cause'] !== undefined && depth < MAX_CAUSE_DEPTH)
    out.cause = serializeError(error['cause'], depth + 1);
  return out;
}

// A thrown non-Error object, described without "[object Object]".
function describeThrown(value: object): string {
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// Picks the function to call: the named export, or a Compozy-style object of tools keyed by id.
function pickExport(
  module: Record<string, unknown>,
  request: WorkerRequest,
): ((input: unknown, context: unknown) => unknown) | string {
  const exported = module[request.exportName];
  if (typeof exported === 'function')
    return exported as (input: unknown, context: unknown) => unknown;
  if (typeof exported === 'object' && exported !== null) {
    const entry = (exported as Record<string, unknown>)[request.toolId];
    if (typeof entry === 'function') return entry as (input: unknown, context: unknown) => unknown;
    return `export \`${request.exportName}\` is an object without a function for tool \`${request.toolId}\``;
  }
  // `--export weather` on a Compozy entry: the tool is a key of the default export.
  const entries = module['default'];
  if (exported === undefined && typeof entries === 'object' && entries !== null) {
    const entry = (entries as Record<string, unknown>)[request.exportName];
    if (typeof entry === 'function') return entry as (input: unknown, context: unknown) => unknown;
  }
  if (exported === undefined) return `export \`${request.exportName}\` is missing`;
  return `export \`${request.exportName}\` is not a function (${typeof exported})`;
}

function makeLogger(toolId: string) {
  // console.error goes to fd 2, which the manager captures as a log stream.
  const write =
    (level: string) =>
    (...args: unknown[]): void => {
      console.error(`[${level}] ${toolId}:`, ...args);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

// The tool's failure, as the one message (a timer throw and an unhandled rejection end here too).
function fail(phase: WorkerPhase, error: unknown): void {
  send({ type: 'error', phase, error: serializeError(error) });
}

// A result that JSON.stringify turns into nothing (a function, a Symbol).
function notJson(output: unknown): void {
  send({
    type: 'error',
    phase: 'output',
    error: {
      name: 'TypeError',
      message: `the result is not JSON-serialisable (${typeof output})`,
    },
  });
}

// Control lines after the request: `abort` aborts the tool's signal. Runs only when stdin has
// more to say (the manager writes `abort`, or closes stdin after the process ended).
function onControl(result: Awaited<ReturnType<typeof reader.read>>): void {
  if (result.done) return;
  pending += decoder.decode(result.value, { stream: true });
  controlLines();
  void reader.read().then(onControl, () => {});
}

function controlLines(): void {
  let at = pending.indexOf('\n');
  while (at !== -1) {
    if (pending.slice(0, at) === 'abort')
      controller.abort(new Error('The execution was aborted (deadline or cancel)'));
    pending = pending.slice(at + 1);
    at = pending.indexOf('\n');
  }
}

// An error thrown in a timer or a rejection nobody handles is the tool failing, as it would
// crash a plain Node process. Observed on Bun 1.4.5: while this entry's top-level await is
// pending, such an error is only printed and the tool goes on to "succeed".
const failAndExit = (error: unknown): void => {
  fail('call', error);
  process.exit(0);
};
process.on('uncaughtException', failAndExit);
process.on('unhandledRejection', failAndExit);

const controller = new AbortController();
// With a kill grace period the manager sends SIGTERM first: turn it into an abort so the tool
// gets its chance to stop; SIGKILL follows at the end of the grace period either way. Without
// one, no handler: SIGTERM keeps its default (the process ends), as the manager expects.
if (grace) {
  process.on('SIGTERM', () => controller.abort(new Error('The execution was terminated')));
}

// The request: the first line on stdin.
const reader = Bun.stdin.stream().getReader();
const decoder = new TextDecoder();
let pending = '';
let newline = -1;
let ended = false;
while (newline === -1) {
  const { value, done } = await reader.read();
  if (done) {
    ended = true;
    break;
  }
  pending += decoder.decode(value, { stream: true });
  newline = pending.indexOf('\n');
}

try {
  if (newline === -1 && pending.length === 0) {
    send({
      type: 'error',
      phase: 'protocol',
      error: { name: 'Error', message: 'no request on stdin' },
    });
  } else {
    const request = JSON.parse(
      newline === -1 ? pending : pending.slice(0, newline),
    ) as WorkerRequest;
    pending = newline === -1 ? '' : pending.slice(newline + 1);
    if (pending.length > 0) controlLines();
    if (!ended) void reader.read().then(onControl, () => {});
    for (const name in request.env) process.env[name] = request.env[name];

    let module: Record<string, unknown> | undefined;
    try {
      module =
        preloaded !== undefined && preloadPath === request.toolPath
          ? await preloaded
          : ((await import(request.toolPath)) as Record<string, unknown>);
    } catch (error) {
      fail('load', error);
    }
    if (module !== undefined) {
      const exported = module[request.exportName];
      const fn = typeof exported === 'function' ? exported : pickExport(module, request);
      if (typeof fn === 'string') {
        send({ type: 'error', phase: 'export', error: { name: 'Error', message: fn } });
      } else {
        const toolId = request.toolId;
        let logger: ReturnType<typeof makeLogger> | undefined;
        const context = {
          config: request.config,
          signal: controller.signal,
          toolId,
          executionId: request.executionId,
          // Made on first use: most tools never log.
          get logger() {
            return (logger ??= makeLogger(toolId));
          },
        };
        let output: unknown;
        let threw = false;
        try {
          output = await (fn as (input: unknown, context: unknown) => unknown)(
            request.input,
            context,
          );
        } catch (error) {
          threw = true;
          fail('call', error);
        }
        if (!threw) {
          let json: string | undefined;
          try {
            // A tool that returns nothing (`undefined`) yields `null`, like a JSON-RPC void result.
            json = output === undefined ? 'null' : JSON.stringify(output);
          } catch (error) {
            fail('output', error);
          }
          if (json === undefined) {
            if (!sent) notJson(output); // Not when stringify threw: that was sent already.
          } else if (!sent) {
            // send(), inlined. Assembled by hand so a large result is serialised once.
            sent = true;
            const bytes = encoder.encode(`{"type":"result","output":${json}}`);
            for (let offset = 0; offset < bytes.length;)
              offset += writeSync(RESULT_FD, bytes, offset);
          }
        }
      }
    }
  }
} catch (error) {
  fail('protocol', error);
}
// Exit at once: timers or sockets the tool left open must not keep the process alive.
process.exit(0);
