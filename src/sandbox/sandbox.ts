/**
 * The sandbox as the runtime sees it: `prepare()` turns one launch request into the exact
 * command to spawn (bwrap inside a shell prologue that joins the execution's cgroups and sets
 * its rlimits, and the same command without it for the launcher, which applies them itself),
 * with a private `/tmp` (a size-limited tmpfs) and a seccomp program, and refuses
 * (a SandboxRefusal) what it cannot enforce. Mode `none` runs Bun directly, but still with a
 * private temp dir (a host directory), a cleared environment, and the cgroups and rlimits when
 * the machine has them. `sweep()` removes what managers that are gone left behind.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { EgressProxy } from '../network/proxy.js';
import { backgroundCleanupSettled } from './background.js';
import { removeManagerCgroups } from './cgroup.js';
import { detectCapabilities, type SandboxCapabilities } from './detect.js';
import { enforcement } from './enforcement.js';
import { buildLaunchCommand, LAUNCH_GO, rlimits } from './launch-command.js';
import { plan } from './launch-plan.js';
import { bwrapTarget, directTarget, toolView } from './launch-target.js';
import { SandboxRefusal } from './refusal.js';
import { ownedTempPrefix, sweepOrphans } from './sweep.js';
import type { LauncherLaunch, LaunchPlan, LaunchRequest, Sandbox } from './types.js';
import { openEgressSession, planCgroups, planWorkspace, type Workspace } from './workspace.js';

/** Where a sandbox keeps its per-execution state (tests point these at fakes). */
export interface SandboxOptions {
  /** The cgroup filesystem. @default '/sys/fs/cgroup' */
  readonly cgroupRoot?: string;
  /**
   * Where temp dirs (`toolcage-<owner>-*`: an unsandboxed execution's private dir, the seccomp
   * program for a moment) are made, and swept. @default os.tmpdir()
   */
  readonly tmpRoot?: string;
  /**
   * Run the tool as uid 65534 in a user namespace (and forbid nested ones) when bwrap can.
   * @default true
   */
  readonly userNamespace?: boolean;
  /**
   * The egress proxy that enforces `permissions.net` allow-lists (one session per execution).
   * Without it, a sandboxed tool with an allow-list is refused (`spawn_failed`).
   */
  readonly egress?: EgressProxy;
}

const MIB = 1024 * 1024;

/** Creates the bubblewrap/cgroup sandbox. Detection runs once, at the first `prepare()` or `sweep()`. */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const tmpRoot = options.tmpRoot ?? tmpdir();
  const detect = (): Promise<SandboxCapabilities> =>
    detectCapabilities(options.cgroupRoot === undefined ? {} : { cgroupRoot: options.cgroupRoot });
  return {
    async prepare(request) {
      const caps = await detect();
      const userNamespace = (options.userNamespace ?? true) && caps.userNamespaces.available;
      return prepareLaunch(request, caps, tmpRoot, userNamespace, options.egress);
    },
    async sweep() {
      return sweepOrphans(tmpRoot, (await detect()).cgroup.layout);
    },
  };
}

/**
 * Settles when the cgroups and temp dirs of every disposed plan are removed (dispose() hands
 * them to background removal, which kills whatever is still in a cgroup), and this process's
 * own cgroup directory too when no execution is left in it. `runtime.close()` awaits it; never
 * rejects.
 */
export async function settleSandboxCleanup(): Promise<void> {
  await backgroundCleanupSettled();
  removeManagerCgroups();
}

// One launch: refuse what cannot be enforced, open the egress proxy's session of an allow-list,
// name the execution's temp dir and cgroups, and build its plan; a failure on the way undoes
// whatever was made.
async function prepareLaunch(
  request: LaunchRequest,
  caps: SandboxCapabilities,
  tmpRoot: string,
  userNamespace: boolean,
  egress: EgressProxy | undefined,
): Promise<LaunchPlan> {
  const sandboxed = request.mode !== 'none';
  if (sandboxed) refuseWhatCannotBeEnforced(request, caps);
  const session = sandboxed ? await openEgressSession(request, tmpRoot, egress) : undefined;
  let workspace: Workspace | undefined;
  try {
    // Sandboxed, the private /tmp is a tmpfs of bwrap's (bwrap-args.ts): nothing on the host.
    // Else it is a host directory of its own, named after its owner so that a sweep can tell
    // whose it is.
    const root = sandboxed ? undefined : join(tmpRoot, `${ownedTempPrefix()}${randomUUID()}`);
    workspace = planWorkspace(root, planCgroups(request, caps), session);
    return await buildPlan(request, caps, workspace, tmpRoot, userNamespace);
  } catch (error) {
    // The workspace undoes the session with the rest; without one, only the session was made.
    await (workspace?.undo() ?? session?.close());
    if (error instanceof SandboxRefusal) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`sandbox setup failed: ${message}`, { cause: error });
  }
}

// The command — bwrap around Bun, or Bun alone — inside the prologue that joins the cgroups,
// sets the rlimits and waits for its temp dir and cgroups to be made (LaunchPlan.materialize).
async function buildPlan(
  request: LaunchRequest,
  caps: SandboxCapabilities,
  workspace: Workspace,
  tmpRoot: string,
  userNamespace: boolean,
): Promise<LaunchPlan> {
  const shell = caps.shell.path;
  const { root } = workspace;
  // Without a prologue to wait for them, the temp dir and cgroups are made now.
  if (shell === undefined) workspace.materialize();
  const target =
    root === undefined
      ? await bwrapTarget(request, caps, tmpRoot, userNamespace, workspace.session)
      : directTarget(request, root, shell === undefined ? root : tmpRoot);
  const limits = {
    cpuSeconds: request.limits.cpuSeconds,
    fileSizeBytes: request.limits.maxFileSizeMb * MIB,
  };
  const command =
    shell === undefined
      ? { file: target.file, args: target.args }
      : buildLaunchCommand({
          shell,
          gate: true,
          ...(root === undefined ? {} : { cwd: root }),
          cgroupJoins: workspace.cgroups?.joinFiles ?? [],
          ...limits,
          file: target.file,
          args: target.args,
        });
  // The launcher applies the same limits without the prologue's shell (see LauncherLaunch).
  // Without a shell, neither path sets rlimits: the enforcement report says so for both.
  const cgroups = workspace.cgroups?.forLauncher;
  const byLauncher: LauncherLaunch | undefined =
    shell === undefined || !launcherMayJoin(cgroups, request.limits.memoryMb)
      ? undefined
      : {
          file: target.file,
          args: target.hold?.args ?? target.args,
          // Unsandboxed, the temp dir: made before the launcher spawns.
          cwd: root ?? target.cwd,
          ...cgroups,
          rlimits: rlimits(limits),
          ...(target.hold === undefined
            ? {}
            : { hold: { infoFd: target.hold.infoFd, blockFd: target.hold.blockFd } }),
        };
  return plan({
    command,
    ...(byLauncher === undefined ? {} : { byLauncher }),
    env: target.env,
    cwd: target.cwd,
    workspace,
    seccompFile: target.seccompFile,
    materialize: () => {
      workspace.materialize();
      return shell === undefined ? '' : LAUNCH_GO;
    },
    enforcement: enforcement(
      request,
      toolView(request),
      caps,
      workspace.cgroups,
      userNamespace,
      shell !== undefined,
    ),
  });
}

/**
 * On cgroup v1 the launcher's spawning thread sits in the execution's memory cgroup while it
 * spawns, and its process counts for that cgroup's OOM killer (v1 picks among the processes of
 * the cgroup's tasks): a limit the new process could reach in those microseconds could take the
 * launcher, and with it every execution it started. Below this the prologue joins instead; Bun
 * does not start in so little anyway (it is an out_of_memory either way).
 */
const LAUNCHER_JOIN_MIN_MEMORY_MB = 32;

function launcherMayJoin(
  cgroups: Pick<LauncherLaunch, 'joins'> | undefined,
  memoryMb: number,
): boolean {
  const joinsMemory = cgroups?.joins?.some((join) => join.controller === 'memory') === true;
  return !joinsMemory || memoryMb >= LAUNCHER_JOIN_MIN_MEMORY_MB;
}

// Sandboxed, everything the permissions and limits need must be here: bwrap that works, seccomp
// (for `run: false`), the memory and pids cgroups, and the shell that applies the limits.
function refuseWhatCannotBeEnforced(request: LaunchRequest, caps: SandboxCapabilities): void {
  const { limits, permissions } = request;
  const refuse = (what: string, reason: string): never => {
    throw new SandboxRefusal(what, reason);
  };
  if (caps.bwrap.path === undefined) {
    refuse(
      'its permissions',
      "bubblewrap (bwrap) is not installed (`apt-get install bubblewrap`), or choose `sandbox: 'none'` explicitly",
    );
  }
  if (!caps.bwrap.works)
    refuse('its permissions', `bubblewrap does not work here: ${caps.bwrap.detail}`);
  if (!permissions.run && caps.seccomp.arch === undefined) {
    refuse('`run: false`', caps.seccomp.detail);
  }
  if (!caps.cgroup.memory) {
    refuse(
      `\`limits.memoryMb\` (${limits.memoryMb})`,
      `no writable memory cgroup controller (${caps.cgroup.detail}); run as root or delegate a cgroup v2 subtree`,
    );
  }
  if (!caps.cgroup.pids) {
    refuse(
      `\`limits.maxProcesses\` (${limits.maxProcesses})`,
      `no writable pids cgroup controller (${caps.cgroup.detail})`,
    );
  }
  if (caps.shell.path === undefined) refuse('its limits', '/bin/sh is missing');
}
