/**
 * The fallback launch: where the launcher cannot run, Node spawns a `/bin/sh` prologue that
 * applies a launch's Confinement (confinement.ts) to itself — joins the cgroups, sets the
 * rlimits with `ulimit`, switches user with `setpriv` — and then `exec`s the command. A process
 * must be in its cgroups before it can fork, and rlimits are set race-free only on oneself.
 */
import { join } from 'node:path';
import type { Confinement, Rlimit } from './confinement.js';

/** Exit status of a prologue that could not apply a limit (bwrap uses 1, Bun its own codes). */
export const LAUNCH_FAILURE_EXIT = 125;
/** The stderr line of a failed prologue starts with this (the runtime classifies it `spawn_failed`). */
export const LAUNCH_FAILURE_PREFIX = 'toolcage-sandbox: ';

/** What the prologue needs of the machine. */
export interface PrologueTools {
  /** The shell (`/bin/sh`); undefined when there is none. */
  readonly shell: string | undefined;
  /** util-linux's setpriv, for a switch of user. */
  readonly setpriv: string | undefined;
}

/** A command to spawn, or why this launch cannot be started without the launcher. */
export type FallbackCommand =
  { readonly file: string; readonly args: readonly string[] } | { readonly unavailable: string };

/** The command Node spawns for a launch that the launcher does not start. */
export function prologue(
  tools: PrologueTools,
  confinement: Confinement,
  command: { readonly file: string; readonly args: readonly string[] },
): FallbackCommand {
  const unavailable = withoutLauncher(tools, confinement);
  if (unavailable !== undefined) return { unavailable };
  const steps = [
    ...joinFiles(confinement).map(
      (file) => `echo 0 > ${quote(file)} || fail ${quote(`join the cgroup ${file}`)}`,
    ),
    ...confinement.rlimits.map(ulimitStep),
  ];
  const { user } = confinement;
  if (steps.length === 0 && user === undefined) return command;
  const exec =
    user === undefined
      ? 'exec "$0" "$@"'
      : `exec ${quote(tools.setpriv!)} --reuid=${user.uid} --regid=${user.gid} --clear-groups -- "$0" "$@"`;
  const script = [
    `fail() { echo "${LAUNCH_FAILURE_PREFIX}cannot $1" >&2; exit ${LAUNCH_FAILURE_EXIT}; }`,
    ...steps,
    exec,
  ].join('\n');
  return { file: tools.shell!, args: ['-c', script, command.file, ...command.args] };
}

// Why a prologue cannot apply this confinement, if it cannot: RLIMIT_NPROC counts every process
// of the host user before bwrap's user namespace exists, so only the launcher sets it, on the
// sandbox's own process; a switch of user needs setpriv; anything at all needs the shell.
function withoutLauncher(tools: PrologueTools, confinement: Confinement): string | undefined {
  if (confinement.rlimits.some((limit) => limit.resource === 'nproc')) {
    return 'its process limit is an RLIMIT_NPROC that only the toolcage launcher can set';
  }
  if (confinement.user !== undefined && tools.setpriv === undefined) {
    return 'it switches to the sandbox user, which needs the toolcage launcher or setpriv (util-linux)';
  }
  const applies =
    confinement.user !== undefined ||
    confinement.rlimits.length > 0 ||
    joinFiles(confinement).length > 0;
  if (applies && tools.shell === undefined) {
    return 'its limits need the toolcage launcher or /bin/sh';
  }
  return undefined;
}

// The files the prologue writes `0` (itself) to: each v1 hierarchy's `tasks`, v2's `cgroup.procs`.
function joinFiles(confinement: Confinement): string[] {
  return [
    ...(confinement.joins ?? []).map((cgroup) => cgroup.file),
    ...(confinement.cgroup === undefined ? [] : [join(confinement.cgroup, 'cgroup.procs')]),
  ];
}

// One rlimit as dash's `ulimit` sets it: -f in 512-byte blocks, -d in KiB; RLIMIT_CPU soft
// first (the hard limit may not go below it).
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
      // Refused above (withoutLauncher).
      return `fail 'set RLIMIT_NPROC'`;
    default:
      return limit.resource satisfies never;
  }
}

/** Single-quotes a word for sh. */
export function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
