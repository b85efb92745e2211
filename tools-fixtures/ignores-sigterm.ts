// Ignores SIGTERM and its abort signal, then blocks forever.
export default function ignoresSigterm() {
  process.on('SIGTERM', () => {});
  console.error('ready');
  setInterval(() => {}, 1_000);
  return new Promise(() => {});
}
