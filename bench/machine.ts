import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    // A migration through cgroup.procs may wait for an RCU grace period (~10 ms) unless the
    // kernel runs in favordynmods mode; toolcage avoids it on v1 (see ExecutionCgroups.joinFiles)
    // but not on v2. The mode is switched on by a favordynmods mount and stays on until reboot
    // even when the flag is removed again, so the mount table can say "not set" on a fast kernel.
    'cgroup favordynmods (mount table)': favordynmods(),
  };
}

function favordynmods(): string {
  try {
    return /\bfavordynmods\b/.test(readFileSync('/proc/mounts', 'utf8')) ? 'set' : 'not set';
  } catch {
    return 'unknown';
  }
}
