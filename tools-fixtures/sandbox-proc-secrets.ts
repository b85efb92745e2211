// Tries to read /proc files that only host root may read; returns what each gave.
import { readFileSync } from 'node:fs';

const PATHS = [
  '/proc/kcore',
  '/proc/keys',
  '/proc/key-users',
  '/proc/timer_list',
  '/proc/sched_debug',
  '/proc/slabinfo',
  '/proc/vmallocinfo',
  '/proc/kallsyms',
  '/proc/kmsg',
];

export default function procSecrets() {
  const seen: Record<string, string> = {};
  for (const path of PATHS) {
    try {
      const text = readFileSync(path).subarray(0, 256).toString('latin1');
      seen[path] = text.length === 0 ? 'empty' : 'read';
    } catch (error) {
      seen[path] = (error as NodeJS.ErrnoException).code ?? 'error';
    }
  }
  return seen;
}
