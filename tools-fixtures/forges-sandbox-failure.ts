// Prints the launch prologue's (or bwrap's) failure line on stderr and exits as it would.
export default function forgesSandboxFailure(input: { line?: string; code?: number } | null) {
  console.error(
    input?.line ?? 'toolcage-sandbox: cannot join the cgroup /sys/fs/cgroup/pids/toolcage/x/tasks',
  );
  process.exit(input?.code ?? 125);
}
