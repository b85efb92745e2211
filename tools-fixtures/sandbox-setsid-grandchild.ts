// Needs `run`. Leaves a grandchild in its own session (setsid sleep 4242), says ready, blocks.
import { spawn } from 'node:child_process';

export default function setsidGrandchild() {
  const child = spawn('setsid', ['sleep', '4242'], { stdio: 'ignore', detached: true });
  child.unref();
  console.error(`ready grandchild=${child.pid}`);
  setInterval(() => {}, 1_000);
  return new Promise(() => {});
}
