// Reads a file the sandbox does not show (default /etc/passwd); returns its text if it could.
import { readFileSync } from 'node:fs';

export default function readOutside(input: { path?: string } | null) {
  return readFileSync(input?.path ?? '/etc/passwd', 'utf8');
}
