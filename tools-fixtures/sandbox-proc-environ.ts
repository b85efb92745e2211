// Reads the environment of its parent and of PID 1 through /proc (the host's, if visible).
import { readFileSync } from 'node:fs';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return `error: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
}

export default function procEnviron() {
  return {
    ppid: process.ppid,
    parent: read(`/proc/${process.ppid}/environ`),
    init: read('/proc/1/environ'),
  };
}
