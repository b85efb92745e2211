/**
 * The sandbox as the runtime sees it: `prepare()` turns one launch request into a LaunchPlan —
 * the command (bwrap around Bun with a private size-limited `/tmp` and a seccomp program, or
 * in mode `none` Bun itself with a host temp dir and a cleared environment) and the one
 * description of what confines it (confinement.ts) — and refuses (a SandboxRefusal) what it
 * cannot enforce. `sweep()` removes what managers that are gone left behind.
 */
import { randomUUID } from 'node:crypto';
import { chownSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { EgressProxy } from '../network/proxy.js';
import { Background } from './background.js';
import { SpareDirs } from './spare-dirs.js';
import { removeManagerCgroups } from './cgroup-manager-dir.js';
import type { SandboxCapabilities } from './detect.js';
import {
  enforceable,
  MIN_DATA_LIMIT_MB,
  refuseUnreachable,
  type LimitMeans,
} from './enforceable.js';
import { enforcement } from './enforcement.js';
import type { SandboxIdentity } from './identity.js';
import { detectFor, whoRuns } from './sandbox-user.js';

import { rlimitsOf, type Confinement, type RlimitValues } from './confinement.js';
import { prologue } from './prologue.js';
import { plan } from './launch-plan.js';
import { bwrapTarget, directTarget, toolView } from './launch-target.js';
import { SandboxRefusal } from './refusal.js';
import { ownedTempPrefix, sweepOrphans } from './sweep.js';
import type { LaunchPlan, LaunchRequest, Sandbox } from './types.js';
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
  /** The host user a root manager runs its sandboxes as (identity.ts). @default `nobody` */
  readonly sandboxUser?: string | undefined;
  /** A delegated cgroup for the executions' cgroups (cgroup-detect.ts). */
  readonly cgroupParent?: string | undefined;
  /** Refuse a launch whose memory or process limit no cgroup can enforce. @default false */
  readonly requireCgroups?: boolean | undefined;
}

const MIB = 1024 * 1024;

/** Creates the bubblewrap/cgroup sandbox. Detection runs once, at the first `prepare()` or `sweep()`. */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const tmpRoot = options.tmpRoot ?? tmpdir();
  const who = whoRuns(options.sandboxUser);
  const detect = (): Promise<SandboxCapabilities> => detectFor(who, options);
  const statics = new Map<string, string | undefined>();
  const background = new Background();
  const spares = new SpareDirs(background);
  return {
    async prepare(request) {
      const caps = await detect();
      if ('error' in who && request.mode !== 'none') {
        throw new SandboxRefusal('its sandbox user', who.error);
      }
      const userNamespace = (options.userNamespace ?? true) && caps.userNamespaces.available;
      const identity = 'identity' in who ? who.identity : undefined;
      return prepareLaunch(request, caps, {
        statics,
        tmpRoot,
        userNamespace,
        egress: options.egress,
        identity,
        requireCgroups: options.requireCgroups ?? false,
        background,
        spares,
      });
    },
    async settled() {
      await background.settled();
      spares.removeAll();
      removeManagerCgroups();
    },
    async sweep() {
      return sweepOrphans(tmpRoot, (await detect()).cgroup.layout);
    },
    handOver(dir) {
      if ('identity' in who && who.identity.switched) {
        chownSync(dir, who.identity.uid, who.identity.gid);
      }
    },
  };
}

/** What one launch is planned with, besides the request and the machine. */
interface LaunchContext {
  readonly tmpRoot: string;
  readonly userNamespace: boolean;
  readonly egress: EgressProxy | undefined;
  /** The sandbox's host user; undefined when unsandboxed launches only are possible. */
  readonly identity: SandboxIdentity | undefined;
  readonly requireCgroups: boolean;
  /** What the sandbox user can reach of the files every launch binds (enforceable.ts). */
  readonly statics: Map<string, string | undefined>;
  readonly background: Background;
  /** Cgroups and host temp dirs made ahead of the launches that take them (spare-dirs.ts). */
  readonly spares: SpareDirs;
}

// One launch: refuse what cannot be enforced, open the egress proxy's session of an allow-list,
// name the execution's temp dir and cgroups, and build its plan; a failure on the way undoes
// whatever was made.
async function prepareLaunch(
  request: LaunchRequest,
  caps: SandboxCapabilities,
  context: LaunchContext,
): Promise<LaunchPlan> {
  const sandboxed = request.mode !== 'none';
  const means = sandboxed
    ? enforceable(request, caps, context)
    : { memory: 'cgroup' as const, processes: 'cgroup' as const };
  if (sandboxed && context.identity !== undefined) {
    refuseUnreachable(request, context.identity, context.statics);
  }
  const user = sandboxed ? context.identity : undefined;
  const session = sandboxed
    ? await openEgressSession(request, context.tmpRoot, context.egress, user)
    : undefined;
  let workspace: Workspace | undefined;
  try {
    // Sandboxed, the private /tmp is a tmpfs of bwrap's (bwrap-args.ts): nothing on the host.
    // Else it is a host directory of its own, named after its owner so that a sweep can tell
    // whose it is.
    const root = sandboxed
      ? undefined
      : join(context.tmpRoot, `${ownedTempPrefix()}${randomUUID()}`);
    workspace = planWorkspace(
      root,
      planCgroups(request, caps, context.spares),
      session,
      context.spares,
    );
    return await buildPlan(request, caps, workspace, context, means);
  } catch (error) {
    // The workspace undoes the session with the rest; without one, only the session was made.
    await (workspace?.undo() ?? session?.close());
    if (error instanceof SandboxRefusal) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`sandbox setup failed: ${message}`, { cause: error });
  }
}

// The command (bwrap around Bun, or Bun alone), the one description of what confines it (its
// cgroups, rlimits and host user), and the fallback prologue that applies that description
// where the launcher cannot run.
async function buildPlan(
  request: LaunchRequest,
  caps: SandboxCapabilities,
  workspace: Workspace,
  context: LaunchContext,
  means: LimitMeans,
): Promise<LaunchPlan> {
  const { root } = workspace;
  const sandboxed = root === undefined;
  const view = toolView(request);
  const target = sandboxed
    ? await bwrapTarget(
        request,
        view,
        caps,
        context.tmpRoot,
        context.userNamespace,
        // Without an identity (none could be resolved) every cover is laid.
        context.identity?.hostRoot ?? true,
        workspace.session,
      )
    : directTarget(request, root);
  const values = rlimitValues(request, sandboxed, means);
  const user = sandboxed && context.identity?.switched === true ? context.identity : undefined;
  const confinement: Confinement = {
    ...workspace.cgroups?.placement,
    rlimits: rlimitsOf(values),
    ...(user === undefined ? {} : { user: { uid: user.uid, gid: user.gid } }),
    ...(target.hold === undefined ? {} : { hold: target.hold }),
  };
  const tools = { shell: caps.shell.path, setpriv: caps.setpriv.path };
  return plan({
    command: { file: target.file, args: target.args },
    confinement,
    fallback: prologue(tools, confinement, target),
    env: target.env,
    cwd: target.cwd,
    workspace,
    background: context.background,
    seccompFile: target.seccompFile,
    // With `run`, RLIMIT_CPU bounds each process only: the runtime sums them (cpu-watch.ts).
    cpuSeconds: request.permissions.run ? request.limits.cpuSeconds : undefined,
    enforcement: enforcement(request, view, caps, {
      cgroups: workspace.cgroups,
      userNamespace: context.userNamespace,
      means,
      dataLimitMb: values.dataBytes === undefined ? undefined : values.dataBytes / MIB,
      identity: sandboxed ? context.identity : undefined,
    }),
  });
}

// The rlimits of a launch: CPU, file size and descriptors always; memory where no cgroup
// bounds it (never below what Bun needs to start, see MIN_DATA_LIMIT_MB); processes where no
// pids cgroup does (inside the user namespace, set by the launcher only: see prologue.ts).
function rlimitValues(request: LaunchRequest, sandboxed: boolean, means: LimitMeans): RlimitValues {
  const { limits } = request;
  return {
    cpuSeconds: limits.cpuSeconds,
    fileSizeBytes: limits.maxFileSizeMb * MIB,
    openFiles: limits.maxOpenFiles,
    dataBytes:
      sandboxed && means.memory === 'rlimit-data'
        ? Math.max(limits.memoryMb, MIN_DATA_LIMIT_MB) * MIB
        : undefined,
    processes: sandboxed && means.processes === 'rlimit-nproc' ? limits.maxProcesses : undefined,
  };
}
