// Returns its result, then misbehaves once the worker has written it: it leaves a grandchild
// that blocks (sleep 4242), and its exit handler (the worker exits right after the result)
// prints on stdout without end and spins. Needs `run`.
import { spawn } from 'node:child_process';

export default function resultThenMisbehaves() {
  spawn('sleep', ['4242'], { stdio: 'ignore' }).unref();
  process.on('exit', () => {
    for (;;) {
      try {
        console.log('after the result');
      } catch {
        // The manager closed its end: spin on.
      }
    }
  });
  return { first: true };
}
