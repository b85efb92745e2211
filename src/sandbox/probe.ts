/**
 * One-off probes of the machine — `bwrap --version`, a trivial sandbox, `ldd <bun>`,
 * `bun --version` — through execa: an empty environment, no stdin, a 10 s bound, and a failure
 * (exit code, signal, timeout, missing binary) told as a value with its reason. Tool processes
 * never start here: they go through runtime/spawn.ts and the launcher, whose own spawn is faster.
 *
 * execa is loaded by the first probe, not with toolcage: importing it takes as long as importing
 * toolcage's whole runtime (docs/performance.md, "Loading execa lazily").
 */

/** What a probe printed, and whether (and why not) it succeeded. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it failed: its stderr, else execa's short message (timed out, not found, …). */
  readonly failure: string;
}

const PROBE_TIMEOUT_MS = 10_000;

/** Runs `file args` to its end; never rejects. */
export async function runProbe(
  file: string,
  args: readonly string[],
  as?: { readonly uid: number; readonly gid: number },
): Promise<ProbeResult> {
  const { execa } = await import('execa');
  const result = await execa(file, args, {
    // The sandbox's own user when it is not this process's (a root manager's): what bwrap can
    // do depends on who starts it.
    ...(as === undefined ? {} : { uid: as.uid, gid: as.gid }),
    env: {},
    extendEnv: false,
    stdin: 'ignore',
    timeout: PROBE_TIMEOUT_MS,
    reject: false,
  });
  return {
    ok: !result.failed,
    stdout: result.stdout,
    stderr: result.stderr,
    failure: result.failed ? result.stderr.trim() || (result.shortMessage ?? 'failed') : '',
  };
}
