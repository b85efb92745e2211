// Spins `input.threads` Worker threads for `input.ms` and returns the CPU time its process used
// against the wall time: a CPU quota bounds the ratio, whatever the number of threads.
import { Worker } from 'node:worker_threads';

const SPIN = `const end = Date.now() + ${'${ms}'}; while (Date.now() < end) {} require('node:worker_threads').parentPort.postMessage('done');`;

export default async function cpuThreads(input: { threads: number; ms: number }) {
  const started = performance.now();
  const before = process.cpuUsage();
  const code = SPIN.replace('${ms}', String(input.ms));
  await Promise.all(
    Array.from({ length: input.threads }, () => {
      const worker = new Worker(code, { eval: true });
      return new Promise<void>((resolve) =>
        worker.on('message', () => void worker.terminate().then(() => resolve())),
      );
    }),
  );
  const used = process.cpuUsage(before);
  const wallMs = performance.now() - started;
  return { cpuMs: (used.user + used.system) / 1000, wallMs };
}
