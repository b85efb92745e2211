/** Reading and writing cgroup control files, where a missing file is an answer, not an error. */
import { readFileSync, writeFileSync } from 'node:fs';

/** The file's text, or '' when it cannot be read. */
export function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** False when the file could not be written. */
export function tryWrite(path: string, text: string): boolean {
  try {
    writeFileSync(path, text);
    return true;
  } catch {
    return false;
  }
}

/** The number after `name` in a `key value` file (`memory.events`, `pids.events`, …). */
export function field(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === name && value !== undefined) return Number(value);
  }
  return undefined;
}
