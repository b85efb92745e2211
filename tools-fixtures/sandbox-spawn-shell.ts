// Starts `sh -c 'echo hi'` (input.how: 'bun' = Bun.spawnSync, 'node' = child_process.spawnSync,
// 'self' = Bun.spawnSync of the Bun binary itself, which is always in the sandbox's view).
import { spawnSync } from 'node:child_process';

/// <reference types="bun" />

export default function spawnShell(input: { how?: 'bun' | 'node' | 'self' } | null) {
  const how = input?.how ?? 'bun';
  if (how === 'node') {
    const result = spawnSync('sh', ['-c', 'echo hi'], { encoding: 'utf8' });
    if (result.error !== undefined) throw result.error;
    return result.stdout.trim();
  }
  const cmd =
    how === 'self' ? [process.execPath, '-e', 'console.log("hi")'] : ['sh', '-c', 'echo hi'];
  return Bun.spawnSync(cmd).stdout.toString().trim();
}
