/**
 * The command the runtime spawns: the sandbox command itself, or — when the process must join
 * cgroups or get rlimits — a `/bin/sh` prologue that does both to itself and then `exec`s it.
 *
 * Why a shell: the process must be inside its cgroups *before* it can fork (children forked
 * earlier stay outside), and rlimits can only be set on oneself (or by `prlimit --pid` after the
 * fact, which races with the process it limits). Node can do neither for a child. A shell that
 * writes `$$` to `cgroup.procs` and runs the `ulimit` builtin before `exec` does both with no
 * race, for one extra exec of dash. Measured here (Node 20 spawning, Debian 12, Linux 6.18,
 * 2 cores, medians of 60):
 *   /bin/true                                   1.56 ms
 *   sh -c 'ulimit -f …; ulimit -t …; exec true'  2.30 ms  (this: +0.7 ms)
 *   sh -c 'exec prlimit --fsize --cpu -- true'   3.39 ms  (+1.8 ms: one more exec)
 * `bwrap --block-fd/--info-fd` with the manager moving the child would save the dash exec but
 * needs two more pipes from the runtime and still one exec for the rlimits (`prlimit --pid`;
 * the default file-size limit is always set), so it cannot be faster.
 * Joining a cgroup v1 is cheap (~0.2 ms) while the kernel's cgroup_threadgroup_rwsem is warm,
 * but after ~20 ms without a migration the first one waits for an RCU grace period: 9–10 ms
 * measured, on the path of every execution of an idle runtime. The `favordynmods` cgroup mount
 * option removes that wait (then 1.0–1.2 ms whatever the idle time); `toolcage doctor` says so.
 * RLIMIT_AS is never used: below ~384 MiB Bun cannot even start. Memory is the cgroup's job.
 */

/** What the prologue does before it becomes the sandbox. */
export interface LaunchCommandInput {
  /** The shell for the prologue (`/bin/sh`). */
  readonly shell: string;
  /** `cgroup.procs` files the process joins (one per controller hierarchy). */
  readonly cgroupProcs: readonly string[];
  /** RLIMIT_CPU: SIGXCPU after this many CPU seconds (SIGKILL one second later). */
  readonly cpuSeconds: number | undefined;
  /** RLIMIT_FSIZE in bytes: a larger write raises SIGXFSZ (or fails with EFBIG). */
  readonly fileSizeBytes: number | undefined;
  /** The command to become. */
  readonly file: string;
  readonly args: readonly string[];
}

/** Exit status of a prologue that could not apply a limit (bwrap uses 1, Bun its own codes). */
export const LAUNCH_FAILURE_EXIT = 125;
/** The stderr line of a failed prologue starts with this (the runtime classifies it `spawn_failed`). */
export const LAUNCH_FAILURE_PREFIX = 'toolcage-sandbox: ';

/** The file and arguments to spawn. */
export function buildLaunchCommand(input: LaunchCommandInput): { file: string; args: string[] } {
  const steps: string[] = [];
  for (const procs of input.cgroupProcs) {
    steps.push(`echo $$ > ${quote(procs)} || fail ${quote(`join the cgroup ${procs}`)}`);
  }
  if (input.cpuSeconds !== undefined) {
    // Soft limit first (the hard one may not go below it). Soft < hard so the kernel sends
    // SIGXCPU (which names the reason) before the SIGKILL at the hard limit.
    steps.push(
      `ulimit -S -t ${input.cpuSeconds} && ulimit -H -t ${input.cpuSeconds + 1} || fail 'set RLIMIT_CPU'`,
    );
  }
  if (input.fileSizeBytes !== undefined) {
    // dash counts `ulimit -f` in 512-byte blocks.
    const blocks = Math.max(1, Math.floor(input.fileSizeBytes / 512));
    steps.push(`ulimit -f ${blocks} || fail 'set RLIMIT_FSIZE'`);
  }
  if (steps.length === 0) return { file: input.file, args: [...input.args] };
  const script = [
    `fail() { echo "${LAUNCH_FAILURE_PREFIX}cannot $1" >&2; exit ${LAUNCH_FAILURE_EXIT}; }`,
    ...steps,
    'exec "$0" "$@"',
  ].join('\n');
  return { file: input.shell, args: ['-c', script, input.file, ...input.args] };
}

/** Single-quotes a word for sh. */
export function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
