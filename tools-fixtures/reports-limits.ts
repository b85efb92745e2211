// Returns the rlimits and the cgroups of its own process, as the kernel shows them.
import { readFileSync } from 'node:fs';

export default function reportsLimits() {
  const limits = readFileSync('/proc/self/limits', 'utf8').split('\n');
  // "Max file size   <soft>   <hard>   bytes": the values start at column 26.
  const pick = (name: string) => {
    const [soft, hard] = (limits.find((line) => line.startsWith(name)) ?? '')
      .slice(26)
      .trim()
      .split(/\s+/);
    return { soft, hard };
  };
  return {
    cpu: pick('Max cpu time'),
    fileSize: pick('Max file size'),
    cgroup: readFileSync('/proc/self/cgroup', 'utf8'),
  };
}
