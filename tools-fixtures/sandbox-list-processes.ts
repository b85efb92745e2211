// Lists the processes it can see in /proc, with their command lines.
import { readFileSync, readdirSync } from 'node:fs';

export default function listProcesses() {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => {
      try {
        return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`;
      } catch {
        return pid;
      }
    });
}
