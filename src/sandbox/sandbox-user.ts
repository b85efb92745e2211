/**
 * Who a sandbox runs as, resolved once per sandbox (a wrong `sandboxUser` refuses every
 * sandboxed launch with its reason), and what a sandbox with given options would find here.
 */
import { detectCapabilities, type SandboxCapabilities } from './detect.js';
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

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
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
  const runAs = 'identity' in who && who.identity.switched ? who.identity : undefined;
  const caps = await detectCapabilities({
    cgroupParent: options.cgroupParent ?? nonEmpty(process.env['TOOLCAGE_CGROUP_PARENT']),
    ...(runAs === undefined ? {} : { runAs: { uid: runAs.uid, gid: runAs.gid } }),
  });
  return { caps, identity: 'identity' in who ? who.identity : who };
}
