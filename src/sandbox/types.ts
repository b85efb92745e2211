/**
 * The permission and limit model, and the contract between the runtime and the sandbox.
 * Only src/sandbox/ knows how these are enforced (bubblewrap, cgroups, rlimits).
 */
import type { Enforcement } from './enforcement-report.js';
import type { Confinement } from './confinement.js';
import type { FallbackCommand } from './prologue.js';

export type { Enforcement };
import type { NetworkActivity } from '../network/ledger.js';

/** What a tool may touch. Every field optional (the README: "Permissions and what is enforced"). */
export interface Permissions {
  /** Paths readable besides the tool's own directory and what Bun needs. @default [] */
  readonly read?: readonly string[];
  /** Writable paths. @default [] (a private temporary directory is always writable, removed after) */
  readonly write?: readonly string[];
  /**
   * Network access. `false`: a network namespace with loopback only. `true`: the whole network
   * (the host's, including its loopback and private networks). A list of host patterns
   * (`api.example.com`, `api.example.com:8443`, `*.example.com`, `203.0.113.0/24`): only those,
   * through toolcage's egress proxy (HTTP and HTTPS via `HTTP_PROXY`/`HTTPS_PROXY`). @default false
   */
  readonly net?: boolean | readonly string[];
  /** Host variables passed through by name. @default [] (the environment is cleared) */
  readonly env?: readonly string[];
  /** May the tool start subprocesses. @default false */
  readonly run?: boolean;
}

/** Permissions with every field filled and paths absolute and normalised. */
export interface ResolvedPermissions {
  readonly read: readonly string[];
  readonly write: readonly string[];
  /** `true`, `false`, or a non-empty list of canonical host patterns. */
  readonly net: boolean | readonly string[];
  readonly env: readonly string[];
  readonly run: boolean;
}

/** Resource limits. Every field optional. */
export interface Limits {
  /** Memory limit of the whole sandbox (cgroup), MiB. @default 512 */
  readonly memoryMb?: number;
  /** CPU seconds (RLIMIT_CPU). @default undefined (no CPU limit; the deadline bounds wall time) */
  readonly cpuSeconds?: number;
  /** Processes and threads in the sandbox (cgroup pids). @default 256 */
  readonly maxProcesses?: number;
  /** Largest file the tool may write (RLIMIT_FSIZE), MiB. @default 64 */
  readonly maxFileSizeMb?: number;
  /**
   * Total scratch space of the private `/tmp` (also `HOME` and the working directory), MiB: a
   * size-limited tmpfs under bubblewrap, whose pages also count toward `memoryMb`. Not enforced
   * with `sandbox: 'none'` (see `enforcement.tmp`). @default 64
   */
  readonly tmpMb?: number;
  /** Largest result, bytes of JSON on the result channel. @default 10485760 (10 MiB) */
  readonly maxOutputBytes?: number;
  /** Log bytes kept per execution (stdout + stderr, the tail is kept). @default 1048576 (1 MiB) */
  readonly maxLogBytes?: number;
  /** Connections open at once through the egress proxy (allow-lists only). @default 32 */
  readonly maxConnections?: number;
  /** MiB through the egress proxy in total, both directions (allow-lists only). @default 256 */
  readonly maxNetworkMb?: number;
  /** Descriptors each of the tool's processes may hold open (RLIMIT_NOFILE). @default 1024 */
  readonly maxOpenFiles?: number;
  /**
   * CPUs the whole execution may use at once, threads and subprocesses together (the cpu
   * cgroup's quota; `0.5` is half a CPU). @default undefined (no quota)
   */
  readonly cpus?: number;
}

/** Limits with every field filled (`cpuSeconds` may stay unset). */
export interface ResolvedLimits {
  readonly memoryMb: number;
  readonly cpuSeconds: number | undefined;
  readonly maxProcesses: number;
  readonly maxFileSizeMb: number;
  readonly tmpMb: number;
  readonly maxOutputBytes: number;
  readonly maxLogBytes: number;
  readonly maxConnections: number;
  readonly maxNetworkMb: number;
  readonly maxOpenFiles: number;
  readonly cpus: number | undefined;
}

/** `auto`: bubblewrap when the machine has it, else refuse; `bwrap`: require it; `none`: run unsandboxed (explicit). */
export type SandboxMode = 'auto' | 'bwrap' | 'none';

/**
 * A path hidden inside a bound directory: a file shows as an unreadable device, a directory as
 * one that cannot be opened (both EACCES).
 */
export interface MaskedEntry {
  readonly path: string;
  readonly type: 'file' | 'directory';
}

/** What of the tool's own files the sandbox shows (read-only). */
export type ToolView =
  /**
   * One file: the tool compiled with its imports into one module (`source`, in the build
   * cache), shown at the tool's own path (`file`), so that `import.meta` and paths relative to
   * it are the tool's. A module without imports may be its own source.
   */
  | {
      readonly kind: 'bundle';
      readonly file: string;
      readonly source: string;
      /** Bun bytecode of `source`, shown beside `file` as `<file>.jsc` (where Bun looks for it). */
      readonly bytecode?: string;
      /** The source map of `source`, shown beside `file` as `<file>.map` (where Bun looks for it). */
      readonly sourcemap?: string;
    }
  /** The tool's directory, as `bundle: false` asks (its secret-bearing entries masked: {@link LaunchRequest.masked}). */
  | { readonly kind: 'directory'; readonly dir: string };

/** What the runtime asks the sandbox to launch. Everything already validated and resolved. */
export interface LaunchRequest {
  /**
   * Names the launch's cgroups: the execution's id for a process started for an execution, a
   * `prewarm-` id for a prewarmed one (its execution is not known yet).
   */
  readonly launchId: string;
  /** Absolute path of the Bun binary. */
  readonly bunPath: string;
  /** Arguments for Bun (flags, then the worker entry). Paths in them are host paths. */
  readonly bunArgs: readonly string[];
  /** Absolute path of the module the worker imports (a compiled bundle, or the tool's source). */
  readonly toolPath: string;
  /** What of the tool's own files is shown, read-only. @default `toolPath` alone (`{ kind: 'bundle', file: toolPath, source: toolPath }`) */
  readonly view?: ToolView;
  /** Absolute paths of files/dirs the worker itself needs read-only (worker entry, bunfig). */
  readonly runtimeFiles: readonly string[];
  /**
   * Secret-bearing entries inside the tool's directory view and the granted directories, hidden
   * (none of them is a granted path, holds one, or lies in another). @default []
   */
  readonly masked?: readonly MaskedEntry[];
  /** The complete environment of the tool process (already filtered; nothing else is inherited). */
  readonly env: Readonly<Record<string, string>>;
  readonly permissions: ResolvedPermissions;
  readonly limits: ResolvedLimits;
  readonly mode: SandboxMode;
}

/** What the sandbox observed of the limits after the process ended. */
export interface LimitReport {
  /** The memory cgroup recorded an OOM kill (or hit its limit). */
  readonly memoryExceeded: boolean;
  /** The pids cgroup refused a fork. */
  readonly processesExceeded: boolean;
  /** What the egress proxy saw, with an allow-list. */
  readonly network?: NetworkActivity;
}

/**
 * A prepared launch: the command, the one description of what confines it, and what to do
 * around it. The launcher starts the command and applies the confinement itself; where the
 * launcher cannot run, Node spawns {@link fallback}, which applies the same description.
 */
export interface LaunchPlan {
  /** The command: bwrap around Bun, or Bun itself (no shell). */
  readonly file: string;
  readonly args: readonly string[];
  /** The spawned process's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Its working directory, which exists once {@link materialize} has run. */
  readonly cwd: string;
  readonly enforcement: Enforcement;
  /**
   * Files the process gets open read-only as fds 4, 5, … (a seccomp program for bwrap), opened
   * afresh for each spawn: bwrap reads the descriptor to its end, so a shared one would give a
   * second process an empty program.
   */
  readonly extraFiles?: readonly string[];
  /** Its cgroups, rlimits and host user. */
  readonly confinement: Confinement;
  /**
   * The same launch as Node spawns it when the launcher cannot run: a shell prologue that
   * applies {@link confinement} (prologue.ts), or why that is not possible.
   */
  readonly fallback: FallbackCommand;
  /**
   * Creates what the process needs before it starts: its temp dir and its cgroups. Call before
   * spawning; throws when the sandbox cannot be set up. Idempotent.
   */
  materialize(): void;
  /**
   * Asks the tool to stop: SIGTERM to the tool's own processes (cgroup members that are not the
   * sandbox's bwrap), at the start of a kill grace period. A no-op without a cgroup.
   */
  terminate(): void;
  /** Kills every process of this execution that the sandbox can reach (cgroup members, namespace). Idempotent. */
  killAll(): void;
  /**
   * True when {@link killAll} reaches every process of the execution (they are all in its
   * cgroup), so the process-group kill around it adds nothing once the process has exited.
   */
  readonly killsAll: boolean;
  /** After exit: what the limits saw. */
  inspect(): Promise<LimitReport>;
  /**
   * `cpuSeconds` across the execution's processes (with `run` and a cgroup to find them): the
   * limit and the CPU seconds they used so far (runtime/cpu-watch.ts).
   */
  readonly cpuBudget?: { readonly seconds: number; used(): number };
  /** What the egress proxy saw so far (allowed and refused connections); absent without one. */
  readonly networkActivity?: () => NetworkActivity;
  /** Removes everything the plan created (temp dir, cgroups, fds). Idempotent; never throws. */
  dispose(): Promise<void>;
}

/** What {@link Sandbox.sweep} removed. */
export interface SweepReport {
  /** Temp dirs (`toolcage-<pid>-<start>-…`) of managers that are gone. */
  readonly tempDirs: readonly string[];
  /** Cgroup directories (`toolcage/<pid>-<start>[/<execution>]`) of managers that are gone. */
  readonly cgroups: readonly string[];
}

/** The sandbox as the runtime sees it. */
export interface Sandbox {
  /**
   * Prepares one launch. Rejects with a `SandboxRefusal` (refusal.ts) when it cannot enforce what was
   * asked, and with an Error when setting up failed; it never makes a ToolExecutionError (the
   * runtime does, with the call's tool id and execution id).
   */
  prepare(request: LaunchRequest): Promise<LaunchPlan>;
  /**
   * Removes the temp dirs and cgroups of managers (processes running a runtime) that are gone,
   * killing what is left in those cgroups; another live manager's are never touched. Never rejects.
   */
  sweep(): Promise<SweepReport>;
  /**
   * Makes a directory toolcage created for a launch (a build's output) the sandbox user's, so
   * that a sandbox running as another user (a root manager's, see identity.ts) may write it.
   * A no-op when the sandbox runs as this process's user.
   */
  handOver?(dir: string): void;
  /**
   * Settles when what its plans' dispose() left in the background is done (cgroups and temp
   * dirs removed, egress sessions closed), and this process's own cgroup directory is removed
   * when no execution is left in it. A runtime's close() awaits it; never rejects.
   */
  settled(): Promise<void>;
}
