// Needs `run`. Starts `input.children` Bun processes that each spin for ever: each stays under a
// per-process CPU limit far longer than the execution's whole budget. Says ready, then waits.
import { spawn } from 'node:child_process';

export default function cpuChildren(input: { children: number }) {
  for (let i = 0; i < input.children; i++) {
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  }
  console.error('ready');
  setInterval(() => {}, 1_000);
  return new Promise(() => {});
}
