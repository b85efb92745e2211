// Needs `run`. A shell that starts `sleep 4242` processes without end; says ready, blocks.
import { spawn } from 'node:child_process';

export default function forkBomb() {
  spawn('sh', ['-c', 'while :; do sleep 4242 & done'], { stdio: 'ignore' });
  console.error('ready');
  setInterval(() => {}, 1_000);
  return new Promise(() => {});
}
