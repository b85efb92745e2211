/** The `enforcement` of every result and span: what was really applied to one execution. */

/** What was really applied to one execution; reported on every result and span. */
export interface Enforcement {
  /** `bwrap` or `none` (unsandboxed, chosen explicitly by the caller). */
  readonly sandbox: 'bwrap' | 'none';
  /** Namespaces the tool ran in (e.g. `mount`, `pid`, `ipc`, `uts`, `net`, `user`). */
  readonly namespaces: readonly string[];
  /**
   * What of the tool's own files it could see: `bundle` (its compiled module, one file),
   * `directory (masked)` (its directory, secret-bearing files hidden; `bundle: false`), or `host`
   * (unsandboxed). Either way only the granted paths besides.
   */
  readonly filesystem: 'bundle' | 'directory (masked)' | 'host';
  /**
   * Network: `isolated` (loopback only), `allow-list` (no route out but toolcage's egress proxy,
   * which allows {@link Enforcement.networkAllowList}), or `host`.
   */
  readonly network: 'isolated' | 'allow-list' | 'host';
  /** The host patterns the egress proxy allows, with `network: 'allow-list'`. */
  readonly networkAllowList?: readonly string[];
  /** Environment: `cleared` (only what was given) — always, sandbox or not. */
  readonly environment: 'cleared';
  /** Subprocesses: `denied` (enforced), `allowed`. */
  readonly subprocesses: 'denied' | 'allowed';
  /** Memory limit mechanism and value. */
  readonly memory: {
    /** `rlimit-data`: RLIMIT_DATA where no memory cgroup can be written (Bun then throws `Out of memory`). */
    readonly mechanism: 'cgroup-v1' | 'cgroup-v2' | 'rlimit-data' | 'none';
    readonly limitMb?: number;
  };
  /** Process count mechanism and value. */
  readonly processes: {
    /**
     * `rlimit-nproc`: RLIMIT_NPROC inside the sandbox's user namespace (no pids cgroup, `run`
     * granted); `seccomp`: no pids cgroup, but no new process can be started (`run: false`).
     */
    readonly mechanism: 'cgroup-v1' | 'cgroup-v2' | 'rlimit-nproc' | 'seccomp' | 'none';
    readonly limit?: number;
  };
  /**
   * CPU seconds: `rlimit` (RLIMIT_CPU, each process), plus with `run` and a cgroup the whole
   * execution's processes together (`execution: true`, toolcage sums their time).
   */
  readonly cpu: {
    readonly mechanism: 'rlimit' | 'none';
    readonly seconds?: number;
    readonly execution?: boolean;
  };
  /** The CPU quota (`limits.cpus`) and its cgroup, when set. */
  readonly cpus?: { readonly mechanism: 'cgroup-v1' | 'cgroup-v2'; readonly cpus: number };
  /** File size mechanism and value. */
  readonly fileSize: { readonly mechanism: 'rlimit' | 'none'; readonly limitMb?: number };
  /** Open descriptors per process (RLIMIT_NOFILE). */
  readonly openFiles: { readonly mechanism: 'rlimit' | 'none'; readonly limit?: number };
  /**
   * The private `/tmp`: `tmpfs` (nothing of it on the host's disk; its pages count toward the
   * memory limit) with `limitMb`, or without it when bubblewrap cannot size a tmpfs (< 0.7: then
   * only the memory limit bounds it); `none`: a host directory without a total cap (`sandbox: 'none'`).
   */
  readonly tmp: { readonly mechanism: 'tmpfs' | 'none'; readonly limitMb?: number };
  /** Process-tree kill: `pid-namespace` (+ cgroup) or `process-group`. */
  readonly kill: 'pid-namespace' | 'process-group';
  /**
   * The host user the tool's processes ran as (uid 65534 inside the sandbox maps to it).
   * `hostRoot: true` only when a root manager was told `sandboxUser: 'root'` (not recommended).
   */
  readonly user: {
    readonly uid: number;
    readonly gid: number;
    readonly name: string;
    readonly hostRoot: boolean;
  };
}
