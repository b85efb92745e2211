/**
 * The seccomp program of a launch, as a path bwrap opens (`--seccomp <fd>`): written once per
 * process and architecture/permission pair, never per launch.
 */
import { randomUUID } from 'node:crypto';
import { openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSeccompProgram, type SeccompArch } from './seccomp.js';
import { ownedTempPrefix } from './sweep.js';

const programFds = new Map<string, number>();

/**
 * A path that opens the seccomp program. Each program is written once per process to a file
 * that is unlinked at once while an fd keeps it: opening `/proc/<manager pid>/fd/<fd>` then gives
 * every launch its own offset, nothing is written per launch, and nothing is left on
 * disk even when the process is killed (a named file was: vitest's workers never run 'exit'
 * hooks). The pid, not `self`: the launcher (runtime/launcher/main.ts) opens it too.
 */
export function seccompProgramFile(
  tmpRoot: string,
  arch: SeccompArch,
  allowProcesses: boolean,
): string {
  const key = `${arch}:${allowProcesses}`;
  let fd = programFds.get(key);
  if (fd === undefined) {
    const file = join(tmpRoot, `.${ownedTempPrefix('seccomp')}${randomUUID()}.bpf`);
    writeFileSync(file, buildSeccompProgram({ arch, allowProcesses }), { mode: 0o600 });
    try {
      fd = openSync(file, 'r');
    } finally {
      rmSync(file, { force: true });
    }
    programFds.set(key, fd);
  }
  return `/proc/${process.pid}/fd/${fd}`;
}
