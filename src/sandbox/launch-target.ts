/**
 * A launch's command: bwrap around Bun (its argv from bwrap-args.ts, with the
 * seccomp program and the tool's view), or, unsandboxed, Bun itself with a host temp dir.
 */
import { EGRESS_ARG } from '../network/in-sandbox.js';
import type { EgressSession } from '../network/session.js';
import { buildBwrapArgs, SANDBOX_PATH, withHold } from './bwrap-args.js';
import type { SandboxCapabilities } from './detect.js';
import { seccompProgramFile } from './seccomp-file.js';
import { systemView } from './system-view.js';
import type { LaunchRequest, ToolView } from './types.js';

// The seccomp program is child fd 4: the runtime spawns [stdin, stdout, stderr, result, ...extraFiles].
const SECCOMP_CHILD_FD = 4;
const MIB = 1024 * 1024;

/** A launch's command: bwrap around Bun, or Bun itself. */
export interface Target {
  readonly file: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly seccompFile?: string;
  /** bwrap's arguments with `--info-fd`/`--block-fd` added, and those descriptors (Confinement.hold). */
  readonly hold?: { readonly args: string[]; readonly infoFd: number; readonly blockFd: number };
}

export async function bwrapTarget(
  request: LaunchRequest,
  tool: ToolView,
  caps: SandboxCapabilities,
  tmpRoot: string,
  userNamespace: boolean,
  hostRoot: boolean,
  session: EgressSession | undefined,
): Promise<Target> {
  const { limits, permissions } = request;
  // Without a syscall table for this machine, `run: false` was refused already.
  const { arch } = caps.seccomp;
  const seccompFile =
    arch === undefined ? undefined : seccompProgramFile(tmpRoot, arch, permissions.run);
  const input = {
    bunPath: request.bunPath,
    bunArgs: session === undefined ? request.bunArgs : [...request.bunArgs, EGRESS_ARG],
    tool,
    masked: request.masked ?? [],
    runtimeFiles: request.runtimeFiles,
    permissions,
    env: request.env,
    // Without --size support (bubblewrap < 0.7) the tmpfs is bounded by the memory cgroup only.
    tmpBytes: caps.bwrap.tmpfsSize ? limits.tmpMb * MIB : undefined,
    system: await systemView(request.bunPath),
    userNamespace,
    hostRoot,
    seccompFd: seccompFile === undefined ? undefined : SECCOMP_CHILD_FD,
    egressDir: session?.directory,
  };
  // The launcher's two descriptors come after the plan's own files (the seccomp program).
  const infoFd = SECCOMP_CHILD_FD + (seccompFile === undefined ? 0 : 1);
  const hold = { infoFd, blockFd: infoFd + 1 };
  const args = buildBwrapArgs(input);
  return {
    file: caps.bwrap.path!,
    args,
    hold: { ...hold, args: withHold(args, input, hold) },
    // bwrap gets the tool's variables through --setenv; its own environment stays empty so
    // that /proc/1/environ (bwrap is the namespace's init) shows nothing of the host.
    env: {},
    // Not the temp dir: the shell exports PWD, and bwrap's environment shows in /proc/1/environ.
    cwd: '/',
    ...(seccompFile === undefined ? {} : { seccompFile }),
  };
}

// What of the tool the sandbox shows: its bundle, or its directory with secrets masked.
export function toolView(request: LaunchRequest): ToolView {
  return request.view ?? { kind: 'bundle', file: request.toolPath, source: request.toolPath };
}

// Unsandboxed: Bun itself, in its private temp dir, which is its TMPDIR and HOME too.
export function directTarget(request: LaunchRequest, privateTmp: string): Target {
  return {
    file: request.bunPath,
    args: [...request.bunArgs],
    env: {
      ...request.env,
      TMPDIR: privateTmp,
      HOME: privateTmp,
      ...(request.permissions.run ? { PATH: SANDBOX_PATH } : {}),
    },
    cwd: privateTmp,
  };
}
