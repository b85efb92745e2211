// Records when its module was evaluated and what GREETING held then, and again when called.
// Evaluated, it says so where the host can look without its pipes (only a call reads those): a
// file in its working directory (a sandbox's private /tmp), seen through /proc/<pid>/cwd.
import { writeFileSync } from 'node:fs';

const loadedAt = Date.now();
const greetingAtLoad = process.env['GREETING'] ?? null;
writeFileSync('preload-probe.loaded', String(loadedAt));

export default function preloadProbe() {
  return {
    loadedAt,
    greetingAtLoad,
    greetingAtCall: process.env['GREETING'] ?? null,
    pid: process.pid,
  };
}
