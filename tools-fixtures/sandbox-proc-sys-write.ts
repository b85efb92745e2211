// Tries to open every file under /proc/sys, /proc/irq, /proc/bus and /proc/fs (and
// /proc/sysrq-trigger) for writing — writes nothing — and returns those it could open.
import { closeSync, constants, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export default function procSysWrite() {
  const writable: string[] = [];
  let checked = 0;
  const visit = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile()) tryOpen(path);
    }
  };
  const tryOpen = (path: string): void => {
    checked++;
    try {
      closeSync(openSync(path, constants.O_WRONLY));
      writable.push(path);
    } catch {
      // Refused: what the sandbox must make of every one.
    }
  };
  for (const dir of ['/proc/sys', '/proc/irq', '/proc/bus', '/proc/fs']) visit(dir);
  tryOpen('/proc/sysrq-trigger');
  return { writable, checked };
}
