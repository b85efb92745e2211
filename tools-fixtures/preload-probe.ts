// Records when its module was evaluated and what GREETING held then, and again when called.
const loadedAt = Date.now();
const greetingAtLoad = process.env['GREETING'] ?? null;

export default function preloadProbe() {
  return {
    loadedAt,
    greetingAtLoad,
    greetingAtCall: process.env['GREETING'] ?? null,
    pid: process.pid,
  };
}
