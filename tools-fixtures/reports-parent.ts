// Reports the pid of the process that started the tool's Bun (the sandbox's prologue execs Bun,
// so it is whoever spawned that): toolcage's launcher, or the manager itself.
export default function reportsParent(): { ppid: number } {
  return { ppid: process.ppid };
}
