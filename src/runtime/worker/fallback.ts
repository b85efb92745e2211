/**
 * The worker's slow paths, in a module of their own that run.ts imports only when one is
 * taken: error messages, Compozy-style entries and control lines on stdin (`abort`). Runs inside
 * Bun; like run.ts it imports nothing of the rest of toolcage at run time.
 *
 * Why a separate module: Bun (JavaScriptCore) compiles the code of an entry module before its
 * first statement runs, and even a function that is never called costs its pre-parse — on the
 * path of every execution (docs/performance.md, "The worker's slow paths in their own module").
 */
import { writeSync } from 'node:fs';
// The type Bun's types give `Bun.stdin.stream().getReader()` (run.ts's reader).
import type { ReadableStreamDefaultReader } from 'node:stream/web';
import type { SerializedError, WorkerMessage, WorkerPhase, WorkerRequest } from './protocol.js';

const RESULT_FD = 3;

/** Writes `message` on fd 3 (blocking writes, so a large message flows without a second copy). */
export function writeMessage(message: WorkerMessage): void {
  const bytes = new TextEncoder().encode(JSON.stringify(message));
  for (let offset = 0; offset < bytes.length;) offset += writeSync(RESULT_FD, bytes, offset);
}

/** The error message of a failed phase. */
export function writeError(phase: WorkerPhase, error: unknown): void {
  writeMessage({ type: 'error', phase, error: serializeError(error) });
}

/** The `output` error of a result that JSON.stringify turns into nothing (a function, a Symbol). */
export function writeNotJson(output: unknown): void {
  writeMessage({
    type: 'error',
    phase: 'output',
    error: {
      name: 'TypeError',
      message: `the result is not JSON-serialisable (${typeof output})`,
    },
  });
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

/**
 * Turns anything thrown into a plain object, walking the `cause` chain (bounded) so the
 * manager can see a sandbox error (EACCES, ECONNREFUSED…) the tool wrapped in its own.
 */
export function serializeError(value: unknown, depth = 0): SerializedError {
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

/**
 * The function to call when the named export is not one: a Compozy-style object of tools keyed
 * by id, or (`--export weather`) a key of the default export. A string says why there is none.
 */
export function pickExport(
  module: Record<string, unknown>,
  request: WorkerRequest,
): ((input: unknown, context: unknown) => unknown) | string {
  const exported = module[request.exportName];
  if (typeof exported === 'function')
    return exported as (input: unknown, context: unknown) => unknown;
  if (typeof exported === 'object' && exported !== null) {
    const entry = (exported as Record<string, unknown>)[request.toolId];
    if (typeof entry === 'function') return entry as (input: unknown, context: unknown) => unknown;
    return `export \`${request.exportName}\` is an object without a function \`${request.toolId}\`${objectKeys(exported as Record<string, unknown>)}`;
  }
  const entries = module['default'];
  if (exported === undefined && typeof entries === 'object' && entries !== null) {
    const entry = (entries as Record<string, unknown>)[request.exportName];
    if (typeof entry === 'function') return entry as (input: unknown, context: unknown) => unknown;
  }
  if (exported === undefined) return `export \`${request.exportName}\` is missing`;
  return `export \`${request.exportName}\` is not a function (${typeof exported})`;
}

// What an object of tools holds, for the message of a call that names none of them: its
// functions (the tools one can pick), else whatever keys it has; at most 20.
function objectKeys(entries: Record<string, unknown>): string {
  const keys = Object.keys(entries);
  const functions = keys.filter((key) => typeof entries[key] === 'function');
  const shown = (functions.length > 0 ? functions : keys).slice(0, 20);
  const list = shown.map((key) => `\`${key}\``).join(', ');
  const more = (functions.length > 0 ? functions : keys).length > shown.length ? ', …' : '';
  if (functions.length > 0)
    return `; its functions: ${list}${more} (pick one with \`exportName\`; \`--export\` on the command line)`;
  return keys.length === 0 ? ' (it is empty)' : `; its keys: ${list}${more}, none a function`;
}

/**
 * Reads the control lines that follow the request until stdin closes: `abort` aborts the
 * tool's signal. `pending` is what came after the request line in the same read.
 */
export async function watchControl(
  reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>,
  pending: string,
  controller: AbortController,
): Promise<void> {
  const decoder = new TextDecoder();
  let text = pending;
  for (;;) {
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      if (text.slice(0, newline) === 'abort')
        controller.abort(new Error('The execution was aborted (deadline or cancel)'));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    const { value, done } = await reader.read();
    if (done) return;
    text += decoder.decode(value, { stream: true });
  }
}
