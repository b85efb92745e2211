// Writes a file at `input.path` (somewhere not granted); returns the path if it could.
import { writeFileSync } from 'node:fs';

export default function writeOutside(input: { path: string; text?: string }) {
  writeFileSync(input.path, input.text ?? 'escaped');
  return input.path;
}
