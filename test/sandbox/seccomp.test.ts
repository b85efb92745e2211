import { describe, expect, test } from 'vitest';
import { buildSeccompProgram, currentSeccompArch } from '../../src/sandbox/seccomp.js';

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

function decode(program: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let at = 0; at < program.length; at += 8) {
    out.push({
      code: program.readUInt16LE(at),
      jt: program[at + 2]!,
      jf: program[at + 3]!,
      k: program.readUInt32LE(at + 4),
    });
  }
  return out;
}

// A classic-BPF interpreter for the few instructions the assembler emits.
function run(program: Buffer, data: { arch: number; nr: number; arg0?: number }): number {
  const code = decode(program);
  let a = 0;
  for (let pc = 0; pc < code.length; pc++) {
    const { code: op, jt, jf, k } = code[pc]!;
    if (op === 0x20) a = k === 0 ? data.nr : k === 4 ? data.arch : k === 16 ? (data.arg0 ?? 0) : 0;
    else if (op === 0x06) return k;
    else if (op === 0x15) pc += a === k ? jt : jf;
    else if (op === 0x35) pc += a >>> 0 >= k ? jt : jf;
    else if (op === 0x45) pc += (a & k) !== 0 ? jt : jf;
    else throw new Error(`unknown op ${op}`);
  }
  throw new Error('fell off the end');
}

const X64 = 0xc000003e;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const CLONE_THREAD_FLAGS = 0x003d0f00; // what glibc's pthread_create passes
const FORK_FLAGS = 0x01200011; // CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD

describe('seccomp program (x86_64)', () => {
  const denyProcesses = buildSeccompProgram({ arch: 'x64', allowProcesses: false });
  const allowProcesses = buildSeccompProgram({ arch: 'x64', allowProcesses: true });

  test.each([
    ['read', { nr: 0 }, ALLOW, ALLOW],
    ['fork', { nr: 57 }, EPERM, ALLOW],
    ['vfork', { nr: 58 }, EPERM, ALLOW],
    ['clone of a thread', { nr: 56, arg0: CLONE_THREAD_FLAGS }, ALLOW, ALLOW],
    ['clone of a process', { nr: 56, arg0: FORK_FLAGS }, EPERM, ALLOW],
    ['clone with CLONE_NEWUSER', { nr: 56, arg0: 0x10000000 | CLONE_THREAD_FLAGS }, EPERM, EPERM],
    ['clone3', { nr: 435 }, ENOSYS, ENOSYS],
    ['unshare', { nr: 272 }, EPERM, EPERM],
    ['setns', { nr: 308 }, EPERM, EPERM],
    ['ptrace', { nr: 101 }, EPERM, EPERM],
    ['execve (bwrap itself execs Bun under the filter)', { nr: 59 }, ALLOW, ALLOW],
    ['an x32 syscall', { nr: 0x40000000 + 57 }, EPERM, EPERM],
  ])('%s', (_name, call, withoutRun, withRun) => {
    expect(run(denyProcesses, { arch: X64, ...call }) >>> 0).toBe(withoutRun);
    expect(run(allowProcesses, { arch: X64, ...call }) >>> 0).toBe(withRun);
  });

  test('another ABI (i386 int 0x80) is refused outright', () => {
    expect(run(denyProcesses, { arch: 0x40000003, nr: 0 }) >>> 0).toBe(EPERM);
  });

  test('8 bytes per instruction, and small', () => {
    expect(denyProcesses.length % 8).toBe(0);
    // The file-mode rules (setuid/setgid, execute bits) take ~40 instructions of it.
    expect(denyProcesses.length / 8).toBeLessThan(128);
  });

  test('arm64 has a table; other architectures have none', () => {
    expect(
      run(buildSeccompProgram({ arch: 'arm64', allowProcesses: false }), {
        arch: 0xc00000b7,
        nr: 220,
        arg0: FORK_FLAGS,
      }) >>> 0,
    ).toBe(EPERM);
    expect(currentSeccompArch('ia32')).toBeUndefined();
    expect(currentSeccompArch('x64')).toBe('x64');
  });
});
