// Reads `input.path` and lists `input.dir` (both granted by the test).
import { readFileSync, readdirSync } from 'node:fs';

export default function readGranted(input: { path: string; dir?: string }) {
  return {
    text: readFileSync(input.path, 'utf8'),
    entries: input.dir === undefined ? [] : readdirSync(input.dir),
  };
}
