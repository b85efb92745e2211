/**
 * Log tails for activity results and failures: Temporal keeps every result in the workflow's
 * history, so a tool's megabyte of logs must not go there.
 */
import type { CapturedLogs } from '../errors/tool-execution-error.js';
import type { ToolActivityLogs } from './types.js';

/** The last `maxBytes` bytes of `text` (UTF-8), never starting inside a character. */
export function tailBytes(text: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no encoding.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let start = bytes.length - maxBytes;
  // Skip continuation bytes (10xxxxxx): the tail starts at the next whole character.
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}

/** Both streams' tails, `truncated` when anything was dropped here or by the runtime. */
export function trimLogs(logs: CapturedLogs, maxBytes: number): ToolActivityLogs {
  const stdout = tailBytes(logs.stdout, maxBytes);
  const stderr = tailBytes(logs.stderr, maxBytes);
  return {
    stdout,
    stderr,
    truncated: logs.truncated || stdout !== logs.stdout || stderr !== logs.stderr,
  };
}
