/**
 * cgroup v2: one unified hierarchy, controllers delegated down through `cgroup.subtree_control`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { field, readOr, tryWrite } from './cgroup-files.js';
import { CPU_PERIOD_US } from './cgroup-v1.js';
import type { CgroupLayout, CgroupVersion } from './cgroup-version.js';

/** The files and rules of cgroup v2 under `layout`. */
export function cgroupV2(layout: Extract<CgroupLayout, { version: 'v2' }>): CgroupVersion {
  return {
    mechanism: 'cgroup-v2',
    // v2 has no per-thread file for a domain cgroup: a join takes the migration lock, which
    // after ~20 ms without a migration waits for an RCU grace period (see cgroup-v1.ts).
    joinFile: 'cgroup.procs',
    /*
     * A process cloned into its cgroup (Bun.spawn's `cgroup` option) takes no migration lock
     * (docs/performance.md, "Joining a cgroup"). The launcher does it (Confinement.cgroup); a
     * process the fallback prologue starts still joins by itself.
     */
    cloneInto: true,
    hierarchy: (controller) => (layout[controller] === true ? layout.root : undefined),
    hierarchies: () => [layout.root],
    mount: () => undefined,
    limitCpu(dir, cpus) {
      writeFileSync(join(dir, 'cpu.max'), `${Math.round(cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
    },
    delegate(dirs, cpu) {
      // v2 hands a controller to children only when every ancestor enables it in subtree_control.
      const enable = [
        layout.memory ? '+memory' : '',
        layout.pids ? '+pids' : '',
        cpu && layout.cpu === true ? '+cpu' : '',
      ]
        .filter(Boolean)
        .join(' ');
      for (const dir of dirs) writeFileSync(join(dir, 'cgroup.subtree_control'), enable);
    },
    limitMemory(dir, bytes) {
      writeFileSync(join(dir, 'memory.max'), String(bytes));
      const swap = join(dir, 'memory.swap.max');
      if (existsSync(swap)) writeFileSync(swap, '0');
      // One OOM kill takes the whole sandbox, not just the largest process.
      const group = join(dir, 'memory.oom.group');
      if (existsSync(group)) writeFileSync(group, '1');
    },
    memoryExceeded(dir) {
      const events = readOr(join(dir, 'memory.events'));
      return (field(events, 'oom_kill') ?? 0) > 0 || (field(events, 'oom_group_kill') ?? 0) > 0;
    },
    // cgroup.kill (Linux 5.14) kills every member atomically, forks in flight included.
    killAtOnce: (dir) => tryWrite(join(dir, 'cgroup.kill'), '1'),
  };
}
