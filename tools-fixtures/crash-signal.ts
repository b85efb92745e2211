// Kills its own process with SIGSEGV.
export default function crashSignal() {
  process.kill(process.pid, 'SIGSEGV');
  return new Promise(() => {});
}
