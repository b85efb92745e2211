/**
 * The sandbox as the runtime sees it: `prepare()` turns one launch request into the exact
 * command to spawn (bwrap inside a shell prologue that joins the execution's cgroups and sets
 * its rlimits), with a private `/tmp` (a size-limited tmpfs) and a seccomp program, and refuses
 * (a SandboxRefusal) what it cannot enforce. Mode `none` runs Bun directly, but still with a
 * private temp dir (a host directory), a cleared environment, and the cgroups and rlimits when
 * the machine has them. `sweep()` removes what managers that are gone left behind.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildBwrapArgs, bwrapNamespaces, SANDBOX_PATH } from './bwrap-args.js';
import { backgroundCleanupSettled, inBackground } from './background.js';
import { ExecutionCgroups, releaseManagerCgroups } from './cgroup.js';
import { detectCapabilities, type SandboxCapabilities } from './detect.js';
import { buildLaunchCommand, LAUNCH_GO } from './launch-command.js';
import { ownerTag } from './owner.js';
import { SandboxRefusal } from './refusal.js';
import { removeTree } from './remove-tree.js';
import { EGRESS_ARG } from '../network/in-sandbox.js';
import type { EgressProxy } from '../network/proxy.js';
import type { EgressSession } from '../network/session.js';
import { buildSeccompProgram } from './seccomp.js';
import { sweepOrphans, TEMP_PREFIX } from './sweep.js';
import { systemView } from './system-view.js';
import type {
  Enforcement,
  LaunchPlan,
  LaunchRequest,
  LimitReport,
  Sandbox,
  ToolView,
} from './types.js';

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

// The seccomp program is child fd 4: the runtime spawns [stdin, stdout, stderr, result, ...extraFiles].
const SECCOMP_CHILD_FD = 4;
const MIB = 1024 * 1024;
const NO_LIMITS: LimitReport = { memoryExceeded: false, processesExceeded: false };

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
  releaseManagerCgroups();
}

async function prepareLaunch(
  request: LaunchRequest,
  caps: SandboxCapabilities,
  tmpRoot: string,
  userNamespace: boolean,
  egress: EgressProxy | undefined,
): Promise<LaunchPlan> {
  const sandboxed = request.mode !== 'none';
  const { limits, permissions } = request;
  const view = request.view ?? { kind: 'bundle', file: request.toolPath, source: request.toolPath };
  const refuse = (what: string, reason: string): never => {
    throw new SandboxRefusal(what, reason);
  };
  if (sandboxed) {
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
  }
  const layout = caps.cgroup.layout;
  const shell = caps.shell.path;
  const useCgroups = layout !== undefined && shell !== undefined;
  if (sandboxed && shell === undefined) refuse('its limits', '/bin/sh is missing');
  // An allow-list: the execution's own proxy session, listening before the sandbox starts, in a
  // directory named after its owner (so a sweep removes it when its manager is gone). Never a
  // fallback to the whole network when it cannot start.
  let session: EgressSession | undefined;
  if (sandboxed && Array.isArray(permissions.net)) {
    const what = '`permissions.net` (an allow-list)';
    if (egress === undefined) refuse(what, 'this sandbox has no egress proxy');
    try {
      session = await egress!.open({
        allow: permissions.net,
        maxConnections: limits.maxConnections,
        maxBytes: limits.maxNetworkMb * MIB,
        directory: join(tmpRoot, `${TEMP_PREFIX}${ownerTag()}-net-${randomUUID()}`),
      });
    } catch (error) {
      refuse(
        what,
        `its egress proxy could not start: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  // Sandboxed, the private /tmp is a tmpfs of bwrap's (bwrap-args.ts): nothing on the host. Else
  // it is a host directory of its own, made 0700 (and only if it does not exist yet, so the name
  // cannot be planted), named after its owner so that a sweep can tell whose it is. With a
  // prologue to wait for it, it and the cgroups are created while the process starts (see
  // LaunchPlan.materialize); without one, now.
  const gate = shell !== undefined;
  const root = sandboxed ? undefined : join(tmpRoot, `${TEMP_PREFIX}${ownerTag()}-${randomUUID()}`);
  let cgroups: ExecutionCgroups | undefined;
  let seccompFile: string | undefined;
  let materialized = false;
  const materialize = (): void => {
    if (materialized) return;
    if (root !== undefined) mkdirSync(root, { mode: 0o700 });
    materialized = true;
    cgroups?.materialize();
  };
  try {
    if (useCgroups) {
      cgroups = ExecutionCgroups.plan(layout, request.executionId, {
        memoryBytes: caps.cgroup.memory ? limits.memoryMb * MIB : undefined,
        maxProcesses: caps.cgroup.pids ? limits.maxProcesses : undefined,
      });
    }
    if (!gate) materialize();
    let file: string;
    let args: string[];
    let env: Record<string, string>;
    let cwd: string;
    if (sandboxed) {
      if (!permissions.run || caps.seccomp.arch !== undefined) {
        seccompFile = seccompProgramFile(tmpRoot, caps, permissions.run);
      }
      file = caps.bwrap.path!;
      args = buildBwrapArgs({
        bunPath: request.bunPath,
        bunArgs: session === undefined ? request.bunArgs : [...request.bunArgs, EGRESS_ARG],
        tool: view,
        runtimeFiles: request.runtimeFiles,
        permissions,
        env: request.env,
        // Without --size support (bubblewrap < 0.7) the tmpfs is bounded by the memory cgroup only.
        tmpBytes: caps.bwrap.tmpfsSize ? limits.tmpMb * MIB : undefined,
        system: await systemView(request.bunPath),
        userNamespace,
        seccompFd: seccompFile === undefined ? undefined : SECCOMP_CHILD_FD,
        egressDir: session?.directory,
      });
      // bwrap gets the tool's variables through --setenv; its own environment stays empty so
      // that /proc/1/environ (bwrap is the namespace's init) shows nothing of the host.
      env = {};
      // Not the temp dir: the shell exports PWD, and bwrap's environment shows in /proc/1/environ.
      cwd = '/';
    } else {
      const privateTmp = root!;
      file = request.bunPath;
      args = [...request.bunArgs];
      env = {
        ...request.env,
        TMPDIR: privateTmp,
        HOME: privateTmp,
        ...(permissions.run ? { PATH: SANDBOX_PATH } : {}),
      };
      // With the prologue the temp dir may not exist yet when the shell is spawned: it enters it.
      cwd = gate ? tmpRoot : privateTmp;
    }
    const command =
      shell === undefined
        ? { file, args }
        : buildLaunchCommand({
            shell,
            gate,
            ...(root === undefined ? {} : { cwd: root }),
            cgroupJoins: cgroups?.joinFiles ?? [],
            cpuSeconds: limits.cpuSeconds,
            fileSizeBytes: limits.maxFileSizeMb * MIB,
            file,
            args,
          });
    return plan({
      command,
      env,
      cwd,
      root,
      cgroups,
      seccompFile,
      session,
      materialize: () => {
        materialize();
        return gate ? LAUNCH_GO : '';
      },
      enforcement: enforcement(request, view, caps, cgroups, userNamespace, shell !== undefined),
    });
  } catch (error) {
    cgroups?.kill();
    await cgroups?.destroy();
    await session?.close();
    if (materialized && root !== undefined) await removeTree(root);
    if (error instanceof SandboxRefusal) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`sandbox setup failed: ${message}`, { cause: error });
  }
}

// bwrap's own processes (outside and as the namespace's init): a SIGTERM to either ends the
// whole sandbox at once (--die-with-parent), which would cut the tool's grace period short.
function isBwrapProcess(pid: number): boolean {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`)) === 'bwrap';
  } catch {
    return true; // Gone, or not ours to read: do not signal it.
  }
}

function plan(parts: {
  command: { file: string; args: string[] };
  env: Record<string, string>;
  cwd: string;
  root: string | undefined;
  cgroups: ExecutionCgroups | undefined;
  seccompFile: string | undefined;
  session: EgressSession | undefined;
  materialize: () => string;
  enforcement: Enforcement;
}): LaunchPlan {
  const { cgroups, session } = parts;
  let disposed: Promise<void> | undefined;
  return {
    file: parts.command.file,
    args: parts.command.args,
    env: parts.env,
    cwd: parts.cwd,
    enforcement: parts.enforcement,
    ...(parts.seccompFile === undefined ? {} : { extraFiles: [parts.seccompFile] }),
    materialize: parts.materialize,
    terminate() {
      if (disposed === undefined) cgroups?.signal('SIGTERM', isBwrapProcess);
    },
    killAll() {
      if (disposed === undefined) cgroups?.kill();
    },
    killsAll: cgroups !== undefined,
    inspect() {
      const report = cgroups?.inspect() ?? NO_LIMITS;
      return Promise.resolve(
        session === undefined ? report : { ...report, network: session.activity() },
      );
    },
    ...(session === undefined ? {} : { networkActivity: () => session.activity() }),
    dispose() {
      if (disposed === undefined) {
        // The directories go in the background (see background.ts): the cgroups as soon as the
        // kernel lets them (release() kills whatever is still in them), the temp dir too.
        cgroups?.release();
        if (parts.root !== undefined) inBackground(removeTree(parts.root));
        // Every connection of the execution ends now (the call is synchronous up to its first
        // await); the socket's directory goes with the rest.
        if (session !== undefined) inBackground(session.close());
        disposed = Promise.resolve();
      }
      return disposed;
    },
  };
}

function enforcement(
  request: LaunchRequest,
  view: ToolView,
  caps: SandboxCapabilities,
  cgroups: ExecutionCgroups | undefined,
  userNamespace: boolean,
  rlimits: boolean,
): Enforcement {
  const { limits, permissions } = request;
  const sandboxed = request.mode !== 'none';
  const mechanism = cgroups?.mechanism ?? 'none';
  return {
    sandbox: sandboxed ? 'bwrap' : 'none',
    namespaces: sandboxed ? bwrapNamespaces({ permissions, userNamespace }) : [],
    filesystem: !sandboxed ? 'host' : view.kind === 'bundle' ? 'bundle' : 'directory (masked)',
    network:
      !sandboxed || permissions.net === true
        ? 'host'
        : Array.isArray(permissions.net)
          ? 'allow-list'
          : 'isolated',
    ...(sandboxed && Array.isArray(permissions.net) ? { networkAllowList: permissions.net } : {}),
    environment: 'cleared',
    subprocesses: sandboxed && !permissions.run ? 'denied' : 'allowed',
    memory:
      cgroups !== undefined && caps.cgroup.memory
        ? { mechanism, limitMb: limits.memoryMb }
        : { mechanism: 'none' },
    processes:
      cgroups !== undefined && caps.cgroup.pids
        ? { mechanism, limit: limits.maxProcesses }
        : { mechanism: 'none' },
    cpu:
      rlimits && limits.cpuSeconds !== undefined
        ? { mechanism: 'rlimit', seconds: limits.cpuSeconds }
        : { mechanism: 'none' },
    fileSize: rlimits
      ? { mechanism: 'rlimit', limitMb: limits.maxFileSizeMb }
      : { mechanism: 'none' },
    tmp: !sandboxed
      ? { mechanism: 'none' }
      : caps.bwrap.tmpfsSize
        ? { mechanism: 'tmpfs', limitMb: limits.tmpMb }
        : { mechanism: 'tmpfs' },
    kill: sandboxed ? 'pid-namespace' : 'process-group',
  };
}

const programFds = new Map<string, number>();

/**
 * A path that opens the seccomp program. Each program is written once per process to a file
 * that is unlinked at once while an fd keeps it: opening `/proc/<manager pid>/fd/<fd>` then gives
 * every launch its own offset (~0.02 ms), nothing is written per launch, and nothing is left on
 * disk even when the process is killed (a named file was: vitest's workers never run 'exit'
 * hooks). The pid, not `self`: the launcher (runtime/launcher/main.ts) opens it too.
 */
function seccompProgramFile(
  tmpRoot: string,
  caps: SandboxCapabilities,
  allowProcesses: boolean,
): string {
  const arch = caps.seccomp.arch!;
  const key = `${arch}:${allowProcesses}`;
  let fd = programFds.get(key);
  if (fd === undefined) {
    const file = join(tmpRoot, `.${TEMP_PREFIX}${ownerTag()}-seccomp-${randomUUID()}.bpf`);
    writeFileSync(file, buildSeccompProgram({ arch, allowProcesses }), { mode: 0o600 });
    try {
      fd = openSync(file, 'r');
    } finally {
      rmSync(file, { force: true });
    }
    programFds.set(key, fd);
  }
  return `/proc/${process.pid}/fd/${fd}`;
}
