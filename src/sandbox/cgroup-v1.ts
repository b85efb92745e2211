/** cgroup v1: one hierarchy per controller (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/pids`). */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { field, readOr } from './cgroup-files.js';
import type { CgroupLayout, CgroupVersion } from './cgroup-version.js';

/** The CFS period of a CPU quota (the kernel's default), µs. */
export const CPU_PERIOD_US = 100_000;

/** The files and rules of cgroup v1 under `layout`. */
export function cgroupV1(layout: Extract<CgroupLayout, { version: 'v1' }>): CgroupVersion {
  return {
    mechanism: 'cgroup-v1',
    /*
     * Why `tasks`: a write to `cgroup.procs` (or of another task's pid) takes the global
     * cgroup_threadgroup_rwsem for writing, and after ~20 ms without a migration that waits for
     * an RCU grace period. Moving only the calling thread (`0` written to `tasks`) skips that
     * lock since Linux 6.0 (commit 9a3284fad42f, "cgroup: Optimize single thread migration"),
     * whatever the idle time (docs/performance.md, "Joining a cgroup"). The prologue shell has
     * one thread, so moving it moves the process, and everything it `exec`s or forks afterwards
     * starts inside.
     */
    joinFile: 'tasks',
    // CLONE_INTO_CGROUP takes a v2 cgroup only (EBADF on a v1 one).
    cloneInto: false,
    hierarchy: (controller) => layout[controller],
    mount: (controller) => layout.mounts?.[controller] ?? layout[controller],
    limitCpu(dir, cpus) {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(cpus * CPU_PERIOD_US)));
    },
    hierarchies: () => [
      ...new Set([layout.memory, layout.pids, layout.cpu].filter((d) => d !== undefined)),
    ],
    // Every v1 cgroup has the controllers of its hierarchy.
    delegate: () => {},
    limitMemory(dir, bytes) {
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(bytes));
      // memory+swap must be ≥ memory, so it is set after; equal values mean no swap at all.
      const memsw = join(dir, 'memory.memsw.limit_in_bytes');
      if (existsSync(memsw)) writeFileSync(memsw, String(bytes));
    },
    memoryExceeded(dir) {
      // `oom_kill N` in memory.oom_control (Linux 4.13+); older kernels only have failcnt,
      // which also counts reclaim at the limit, so it is the fallback, not the rule.
      const ooms = field(readOr(join(dir, 'memory.oom_control')), 'oom_kill');
      return ooms === undefined ? Number(readOr(join(dir, 'memory.failcnt')) || 0) > 0 : ooms > 0;
    },
    // v1 has no kill file: the members are signalled one by one.
    killAtOnce: () => false,
  };
}
