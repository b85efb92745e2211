/**
 * The command Node spawns: the sandbox command itself, or a `/bin/sh` prologue that joins the
 * execution's cgroups, sets its rlimits (`ulimit`), switches to the sandbox user (`setpriv`) and
 * then `exec`s it — a process must be in its cgroups before it can fork, and rlimits can only be
 * set race-free on oneself. The launcher, once up, starts the same command without it and
 * applies the same limits itself (LaunchPlan.byLauncher). Why a shell: docs/architecture.md,
 * "The launch prologue"; its cost: docs/performance.md, "The launch prologue's shell".
 */

/** What the prologue does before it becomes the sandbox. */
export interface LaunchCommandInput {
  /** The shell for the prologue (`/bin/sh`). */
  readonly shell: string;
  /** Wait for the line `go` on stdin before anything else (see above). */
  readonly gate?: boolean;
  /** Directory to enter before `exec` (the spawn's cwd cannot be one that does not exist yet). */
  readonly cwd?: string;
  /** Files the shell writes `0` (itself) to, to join its cgroups (one per controller hierarchy). */
  readonly cgroupJoins: readonly string[];
  /** RLIMIT_CPU: SIGXCPU after this many CPU seconds (SIGKILL one second later). */
  readonly cpuSeconds: number | undefined;
  /** RLIMIT_FSIZE in bytes: a larger write raises SIGXFSZ (or fails with EFBIG). */
  readonly fileSizeBytes: number | undefined;
  /** RLIMIT_NOFILE: descriptors the tool may hold open. */
  readonly openFiles?: number | undefined;
  /** RLIMIT_DATA in bytes: the memory bound where no memory cgroup can be written (rlimit-data). */
  readonly dataBytes?: number | undefined;
  /**
   * Start the command as this host user (a root manager's sandbox user): the prologue joins the
   * cgroups as root, then `setpriv` drops the groups and switches before the `exec`.
   */
  readonly user?: { readonly setpriv: string; readonly uid: number; readonly gid: number };
  /** The command to become. */
  readonly file: string;
  readonly args: readonly string[];
}

/** The line a gated prologue waits for on stdin. */
export const LAUNCH_GO = 'go\n';

/** Exit status of a prologue that could not apply a limit (bwrap uses 1, Bun its own codes). */
export const LAUNCH_FAILURE_EXIT = 125;
/** The stderr line of a failed prologue starts with this (the runtime classifies it `spawn_failed`). */
export const LAUNCH_FAILURE_PREFIX = 'toolcage-sandbox: ';

/** The file and arguments to spawn. */
export function buildLaunchCommand(input: LaunchCommandInput): { file: string; args: string[] } {
  const steps: string[] = [];
  if (input.gate === true)
    steps.push(`read -r go && [ "$go" = go ] || fail 'start: toolcage did not say go'`);
  for (const join of input.cgroupJoins) {
    steps.push(`echo 0 > ${quote(join)} || fail ${quote(`join the cgroup ${join}`)}`);
  }
  for (const limit of rlimits(input)) {
    // dash counts `ulimit -f` in 512-byte blocks. The soft limit first (the hard one may not go
    // below it).
    steps.push(ulimitStep(limit));
  }
  if (input.cwd !== undefined) steps.push(`cd ${quote(input.cwd)} || fail 'enter the temp dir'`);
  if (steps.length === 0 && input.user === undefined) {
    return { file: input.file, args: [...input.args] };
  }
  const { user } = input;
  const exec =
    user === undefined
      ? 'exec "$0" "$@"'
      : `exec ${quote(user.setpriv)} --reuid=${user.uid} --regid=${user.gid} --clear-groups -- "$0" "$@"`;
  const script = [
    `fail() { echo "${LAUNCH_FAILURE_PREFIX}cannot $1" >&2; exit ${LAUNCH_FAILURE_EXIT}; }`,
    ...steps,
    exec,
  ].join('\n');
  return { file: input.shell, args: ['-c', script, input.file, ...input.args] };
}

/**
 * The rlimits of a launch, as the prologue's `ulimit`s and the launcher's prlimit() set them:
 * RLIMIT_CPU soft < hard so the kernel sends SIGXCPU (which names the reason) before the SIGKILL
 * at the hard limit; RLIMIT_FSIZE in whole 512-byte blocks, as `ulimit -f` counts it.
 */
export function rlimits(
  input: Pick<LaunchCommandInput, 'cpuSeconds' | 'fileSizeBytes' | 'openFiles' | 'dataBytes'>,
): Rlimit[] {
  const limits: Rlimit[] = [];
  if (input.cpuSeconds !== undefined) {
    limits.push({ resource: 'cpu', soft: input.cpuSeconds, hard: input.cpuSeconds + 1 });
  }
  if (input.fileSizeBytes !== undefined) {
    const bytes = Math.max(1, Math.floor(input.fileSizeBytes / 512)) * 512;
    limits.push({ resource: 'fsize', soft: bytes, hard: bytes });
  }
  if (input.openFiles !== undefined) {
    limits.push({ resource: 'nofile', soft: input.openFiles, hard: input.openFiles });
  }
  if (input.dataBytes !== undefined) {
    // dash counts `ulimit -d` in KiB.
    const bytes = Math.max(1, Math.floor(input.dataBytes / 1024)) * 1024;
    limits.push({ resource: 'data', soft: bytes, hard: bytes });
  }
  return limits;
}

/** One rlimit as the prologue and the launcher set it (soft, then hard). */
export interface Rlimit {
  readonly resource: 'cpu' | 'fsize' | 'nofile' | 'data' | 'nproc';
  readonly soft: number;
  readonly hard: number;
}

// The prologue's `ulimit` for one rlimit (dash: -f in 512-byte blocks, -d in KiB). RLIMIT_NPROC
// is never set here: before bwrap's user namespace exists it would count every process of the
// host user (see sandbox.ts), so only the launcher sets it, on the sandbox's own process.
function ulimitStep(limit: Rlimit): string {
  switch (limit.resource) {
    case 'cpu':
      return `ulimit -S -t ${limit.soft} && ulimit -H -t ${limit.hard} || fail 'set RLIMIT_CPU'`;
    case 'fsize':
      return `ulimit -f ${limit.soft / 512} || fail 'set RLIMIT_FSIZE'`;
    case 'nofile':
      return `ulimit -n ${limit.soft} || fail 'set RLIMIT_NOFILE'`;
    case 'data':
      return `ulimit -d ${limit.soft / 1024} || fail 'set RLIMIT_DATA'`;
    case 'nproc':
      return ':';
    default:
      return limit.resource satisfies never;
  }
}

/** Single-quotes a word for sh. */
export function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
