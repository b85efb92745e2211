/**
 * The seccomp filter passed to bubblewrap (`--seccomp FD`): a classic BPF program assembled here,
 * so toolcage needs no libseccomp. bwrap loads it just before it execs Bun, so it covers Bun and
 * everything Bun starts. Always denied: namespaces, keyrings, ptrace, bpf, perf_event_open,
 * userfaultfd, module and kexec loading, mount, open_by_handle_at, setuid/setgid modes; without
 * `run`, processes and execute bits (docs/permissions.md). The fact that shaped it: classic BPF
 * cannot read memory, so `clone3` and `openat2` (flags, mode in memory) return ENOSYS, and glibc
 * ≥ 2.34 falls back to `clone`, whose flags are in a register: Bun's threads still start.
 */

/** Architectures with a syscall table here; others get no filter (and `run: false` is refused). */
export type SeccompArch = 'x64' | 'arm64';

interface ArchTable {
  readonly audit: number;
  /** x86_64 also accepts x32 syscalls (number | 0x40000000): those are refused outright. */
  readonly x32Bit: boolean;
  readonly clone: number;
  readonly clone3: number;
  readonly fork: readonly number[];
  readonly denied: readonly number[];
  /** Syscalls that set a file's mode: where the mode is, and the flags when they may create. */
  readonly modes: readonly ModeRule[];
  readonly openat2: number;
}

/** A syscall that sets a mode: its number, the mode's argument, the open flags' argument. */
interface ModeRule {
  readonly nr: number;
  readonly mode: number;
  /** Set for open-like calls: the mode applies only with O_CREAT or O_TMPFILE in these flags. */
  readonly flags?: number;
}

// Numbers from the kernel's arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
const TABLES: Readonly<Record<SeccompArch, ArchTable>> = {
  x64: {
    audit: 0xc000003e, // AUDIT_ARCH_X86_64
    x32Bit: true,
    clone: 56,
    clone3: 435,
    fork: [57, 58], // fork, vfork
    // unshare, setns, ptrace, add_key, request_key, keyctl, mount, umount2, pivot_root, chroot,
    // bpf, perf_event_open, userfaultfd, kexec_load, kexec_file_load, init_module,
    // finit_module, delete_module, open_by_handle_at
    denied: [
      272, 308, 101, 248, 249, 250, 165, 166, 155, 161, 321, 298, 323, 246, 320, 175, 313, 176, 304,
    ],
    // chmod, fchmod, fchmodat, fchmodat2, creat, mknod, mknodat, open, openat
    modes: [
      { nr: 90, mode: 1 },
      { nr: 91, mode: 1 },
      { nr: 268, mode: 2 },
      { nr: 452, mode: 2 },
      { nr: 85, mode: 1 },
      { nr: 133, mode: 1 },
      { nr: 259, mode: 2 },
      { nr: 2, mode: 2, flags: 1 },
      { nr: 257, mode: 3, flags: 2 },
    ],
    openat2: 437,
  },
  arm64: {
    audit: 0xc00000b7, // AUDIT_ARCH_AARCH64
    x32Bit: false,
    clone: 220,
    clone3: 435,
    fork: [], // arm64 has no fork/vfork syscalls: glibc uses clone
    denied: [
      97, 268, 117, 217, 218, 219, 40, 39, 41, 51, 280, 241, 282, 104, 294, 105, 273, 106, 265,
    ],
    // fchmod, fchmodat, fchmodat2, mknodat, openat
    modes: [
      { nr: 52, mode: 1 },
      { nr: 53, mode: 2 },
      { nr: 452, mode: 2 },
      { nr: 33, mode: 2 },
      { nr: 56, mode: 3, flags: 2 },
    ],
    openat2: 437,
  },
};

const CLONE_THREAD = 0x00010000;
// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
const CLONE_NEW_ANY =
  0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

// O_CREAT | __O_TMPFILE (the same on x86_64 and arm64).
const O_CREATES = 0o100 | 0o20000000;
const S_ISUID_ISGID = 0o6000;
const S_IXALL = 0o111;

const EPERM = 1;
const ENOSYS = 38;

// struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian).
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const OFFSET_ARG0_LOW = 16;

// BPF opcodes (linux/bpf_common.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number): number => (0x00050000 | errno) >>> 0;

/** The architecture of this process, when a filter can be built for it. */
export function currentSeccompArch(arch: string = process.arch): SeccompArch | undefined {
  return arch === 'x64' || arch === 'arm64' ? arch : undefined;
}

/**
 * Assembles the filter for `arch`: 8 bytes per instruction (`u16 code, u8 jt, u8 jf, u32 k`),
 * ready to be written to the fd bwrap reads with `--seccomp`.
 */
export function buildSeccompProgram(options: {
  arch: SeccompArch;
  allowProcesses: boolean;
}): Buffer {
  const table = TABLES[options.arch];
  const asm = new Assembler();
  asm.load(OFFSET_ARCH);
  // A syscall of another ABI (i386 `int 0x80` on x86_64) has other numbers: refuse them all.
  asm.jump(JEQ_K, table.audit, 'native', 'deny');
  asm.label('native');
  asm.load(OFFSET_NR);
  if (table.x32Bit) asm.jump(JGE_K, 0x40000000, 'deny', 'next');
  asm.label('next');
  asm.jump(JEQ_K, table.openat2, 'enosys', 'no-openat2');
  asm.label('no-openat2');
  const modeBits = options.allowProcesses ? S_ISUID_ISGID : S_ISUID_ISGID | S_IXALL;
  table.modes.forEach((rule, index) => {
    asm.jump(JEQ_K, rule.nr, `mode${index}`, `not-mode${index}`);
    asm.label(`mode${index}`);
    if (rule.flags !== undefined) {
      asm.load(OFFSET_ARG0_LOW + 8 * rule.flags);
      asm.jump(JSET_K, O_CREATES, `creates${index}`, 'allow');
      asm.label(`creates${index}`);
    }
    asm.load(OFFSET_ARG0_LOW + 8 * rule.mode);
    asm.jump(JSET_K, modeBits, 'deny', 'allow');
    asm.label(`not-mode${index}`);
  });
  asm.jump(JEQ_K, table.clone3, 'enosys', 'no-clone3');
  asm.label('no-clone3');
  asm.jump(JEQ_K, table.clone, 'clone', 'no-clone');
  asm.label('no-clone');
  const denied = options.allowProcesses ? table.denied : [...table.denied, ...table.fork];
  denied.forEach((nr, index) => {
    asm.jump(JEQ_K, nr, 'deny', `d${index}`);
    asm.label(`d${index}`);
  });
  asm.ret(RET_ALLOW);

  // clone(flags, …): the flags are the first argument (its low 32 bits hold every CLONE_* flag).
  asm.label('clone');
  asm.load(OFFSET_ARG0_LOW);
  asm.jump(JSET_K, CLONE_NEW_ANY, 'deny', 'clone-no-ns');
  asm.label('clone-no-ns');
  if (options.allowProcesses) asm.ret(RET_ALLOW);
  else asm.jump(JSET_K, CLONE_THREAD, 'allow', 'deny');

  asm.label('allow');
  asm.ret(RET_ALLOW);
  asm.label('deny');
  asm.ret(retErrno(EPERM));
  asm.label('enosys');
  asm.ret(retErrno(ENOSYS));
  return asm.assemble();
}

type Instruction =
  | { readonly op: 'ld'; readonly k: number }
  | { readonly op: 'ret'; readonly k: number }
  | {
      readonly op: 'jmp';
      readonly code: number;
      readonly k: number;
      readonly jt: string;
      readonly jf: string;
    };

// A two-pass assembler: labels name the next instruction; conditional jumps go forward only.
class Assembler {
  readonly #code: Instruction[] = [];
  readonly #labels = new Map<string, number>();

  load(offset: number): void {
    this.#code.push({ op: 'ld', k: offset });
  }
  ret(value: number): void {
    this.#code.push({ op: 'ret', k: value });
  }
  jump(code: number, k: number, jt: string, jf: string): void {
    this.#code.push({ op: 'jmp', code, k, jt, jf });
  }
  label(name: string): void {
    this.#labels.set(name, this.#code.length);
  }

  assemble(): Buffer {
    const out = Buffer.alloc(this.#code.length * 8);
    this.#code.forEach((ins, index) => {
      const at = index * 8;
      let code: number;
      let jt = 0;
      let jf = 0;
      if (ins.op === 'ld') code = LD_W_ABS;
      else if (ins.op === 'ret') code = RET_K;
      else {
        code = ins.code;
        jt = this.#offset(index, ins.jt);
        jf = this.#offset(index, ins.jf);
      }
      out.writeUInt16LE(code, at);
      out.writeUInt8(jt, at + 2);
      out.writeUInt8(jf, at + 3);
      out.writeUInt32LE(ins.k >>> 0, at + 4);
    });
    return out;
  }

  #offset(from: number, label: string): number {
    const target = this.#labels.get(label);
    if (target === undefined) throw new Error(`seccomp: unknown label ${label}`);
    const offset = target - from - 1;
    if (offset < 0 || offset > 255) throw new Error(`seccomp: jump to ${label} out of range`);
    return offset;
  }
}
