/**
 * Who a sandbox runs as, resolved once per sandbox (a wrong `sandboxUser` refuses every
 * sandboxed launch with its reason), and what a sandbox with given options would find here.
 */
import { detectCapabilities, type SandboxCapabilities } from './detect.js';
import { nonEmpty } from '../errors/expect.js';
import { resolveSandboxIdentity, type SandboxIdentity } from './identity.js';

// Resolves the sandbox user once; a wrong one refuses every sandboxed launch with its reason.
export function whoRuns(
  sandboxUser: string | undefined,
): { identity: SandboxIdentity } | { error: string } {
  try {
    return { identity: resolveSandboxIdentity(sandboxUser) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Detects what this machine offers a sandbox run by `who`: the bwrap probes run as the sandbox
 * user, and the executions' cgroups go under `cgroupParent` (else TOOLCAGE_CGROUP_PARENT).
 */
export function detectFor(
  who: ReturnType<typeof whoRuns>,
  options: { readonly cgroupRoot?: string | undefined; readonly cgroupParent?: string | undefined },
): Promise<SandboxCapabilities> {
  const runAs = 'identity' in who && who.identity.switched ? who.identity : undefined;
  return detectCapabilities({
    ...(options.cgroupRoot === undefined ? {} : { cgroupRoot: options.cgroupRoot }),
    cgroupParent: options.cgroupParent ?? nonEmpty(process.env['TOOLCAGE_CGROUP_PARENT']),
    ...(runAs === undefined ? {} : { runAs: { uid: runAs.uid, gid: runAs.gid } }),
  });
}

/**
 * What a sandbox with these options would find here, for `doctor`: the machine's capabilities
 * (probed as the sandbox user) and that user, or why it cannot be resolved.
 */
export async function inspectSandbox(
  options: {
    readonly sandboxUser?: string | undefined;
    readonly cgroupParent?: string | undefined;
  } = {},
): Promise<{ caps: SandboxCapabilities; identity: SandboxIdentity | { error: string } }> {
  const who = whoRuns(options.sandboxUser);
  const caps = await detectFor(who, options);
  return { caps, identity: 'identity' in who ? who.identity : who };
}
