import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';

/** Where and with what the bench ran, for RESULTS.md. */
export function describeMachine(bunPath: string): Record<string, string> {
  const version = (file: string, args: string[]): string => {
    try {
      return execFileSync(file, args, { encoding: 'utf8', timeout: 10_000 }).trim().split('\n')[0]!;
    } catch {
      return 'not available';
    }
  };
  return {
    date: new Date().toISOString(),
    nproc: String(cpus().length),
    cpu: cpus()[0]?.model ?? 'unknown',
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    bun: version(bunPath, ['--version']),
    bwrap: version('bwrap', ['--version']),
  };
}
