// Spawns a grandchild that blocks (sleep), then blocks itself. Needs `run`.
import { spawn } from 'node:child_process';

export default function grandchild() {
  const child = spawn('sleep', ['4242'], { stdio: 'ignore', detached: true });
  child.unref();
  console.error(`ready grandchild=${child.pid}`);
  setInterval(() => {}, 1_000);
  return new Promise(() => {});
}
