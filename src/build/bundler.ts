/**
 * The module a call runs, and what the sandbox shows of the tool: its bundle — built on demand,
 * sandboxed, and cached by the content of its inputs — or, for a tool registered with
 * `bundle: false`, its directory with secret-bearing entries masked.
 *
 * Per call, a tool already built by this runtime costs one `stat` per input and one of the
 * bundle (see freshness.ts); a hash is computed only for a file whose stat changed. The first
 * call of a runtime reads the entry's manifest, checks the inputs the same way and verifies the
 * bundle's hash once. A build runs at most once at a time per tool in a runtime; calls that need
 * it wait for it under their own deadline (it goes on for the next call when one gives up).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorKind } from '../errors/kinds.js';
import { isToolExecutionError, ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ResolvedTool } from '../runtime/resolve-tool.js';
import type { ResolvedPermissions, ToolView } from '../sandbox/types.js';
import { describeProblems, refusedGraph } from './build-errors.js';
import { entryKey, type BuildCache, type Manifest } from './cache.js';
import { checkInputs, recordInput, sameStat, statFields, type InputRecord } from './freshness.js';
import { DirectoryMasks, MaskScanError, masksOutsideGrants } from './mask.js';
import type { NameMatcher } from './patterns.js';
import { isInside } from '../sandbox/permissions.js';
import { buildView } from './project.js';
import { runSandboxedBuild, type BuildHost } from './sandboxed-build.js';

/** What a call runs. */
export interface ToolModule {
  /** The module the worker imports. */
  readonly modulePath: string;
  /** What the sandbox shows of the tool. */
  readonly view: ToolView;
  /** What of the tool is visible inside (to tell a denied read from a missing file). */
  readonly visible: readonly string[];
}

/** A tool's bundle, for `toolcage build`. */
export interface BuiltTool {
  readonly manifest: Manifest;
  readonly bundlePath: string;
  /** True when it came from the cache, false when this call built it. */
  readonly cached: boolean;
  /** Project root its inputs are shown relative to. */
  readonly root: string;
}

export interface BundlerOptions {
  readonly host: BuildHost;
  readonly cache: BuildCache;
  /** Bun's version (part of the cache key). */
  readonly bunVersion: () => string;
  /** Secret-bearing names: refused as imports, masked in directory views. */
  readonly matcher: NameMatcher;
}

/** How long a call waits for a build: its own deadline and signal. */
export interface BuildWait {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

// Bumped whenever the build's options or output layout change: part of every cache key.
// Bytecode: measured on Bun 1.4.5 importing a zod 4 bundle (167 KB), 4.7 ms with its bytecode
// against 12.3 ms as ESM (medians of 40 fresh processes) — see bench/RESULTS.md.
const BUILD_OPTIONS = JSON.stringify({
  revision: 1,
  target: 'bun',
  format: 'cjs with bytecode; esm for a top-level await',
  macros: false,
  sourcemap: 'none',
  env: 'disable',
});

interface Fresh {
  readonly key: string;
  readonly manifest: Manifest;
  /** The bundle in the cache, and its bytecode (`<bundle>.jsc`) if it has some. */
  readonly bundle: string;
  readonly bytecode: string | undefined;
  inputs: readonly InputRecord[];
  /** The stats of the bundle and its bytecode when their hashes were last verified. */
  verified: ReadonlyArray<ReturnType<typeof statFields>>;
  readonly built: boolean;
  readonly root: string;
}

/** Bundles of one runtime's tools, and the masks of its `bundle: false` tools. */
export class ToolBundler {
  readonly #options: BundlerOptions;
  readonly #masks: DirectoryMasks;
  readonly #fresh = new Map<string, Fresh>();
  readonly #building = new Map<string, Promise<Fresh>>();
  readonly #closing = new AbortController();

  constructor(options: BundlerOptions) {
    this.#options = options;
    this.#masks = new DirectoryMasks(options.matcher);
  }

  /**
   * The module of one call. Rejects with a {@link ToolExecutionError}: `tool_error` when the tool
   * cannot be built (the message names the file and the import), `tool_not_found` when its entry
   * is gone, `spawn_failed` when the build's sandbox cannot start or a directory cannot be
   * masked, `timeout`/`cancelled` when the call's signal ends the wait.
   */
  module(
    tool: ResolvedTool,
    permissions: ResolvedPermissions,
    wait: BuildWait,
  ): ToolModule | Promise<ToolModule> {
    if (tool.definition?.bundle === false) return this.#directoryModule(tool, permissions);
    const fresh = this.#fresh.get(tool.path);
    if (fresh !== undefined && this.#stillFresh(fresh))
      return this.#bundleModule(tool, fresh, permissions);
    return this.#wait(this.#ensure(tool), tool, wait).then((built) =>
      this.#bundleModule(tool, built, permissions),
    );
  }

  /** Builds a tool (or finds it in the cache) ahead of its calls: `toolcage build`. */
  async build(tool: ResolvedTool, wait: BuildWait): Promise<BuiltTool> {
    const known = this.#fresh.get(tool.path);
    const fresh = known !== undefined && this.#stillFresh(known) ? known : undefined;
    const built = fresh ?? (await this.#wait(this.#ensure(tool), tool, wait));
    return {
      manifest: built.manifest,
      bundlePath: built.bundle,
      cached: fresh !== undefined || !built.built,
      root: built.root,
    };
  }

  /** Stops builds under way (their callers get `cancelled`) and waits for them to end. */
  async close(): Promise<void> {
    this.#closing.abort();
    await Promise.allSettled([...this.#building.values()]);
  }

  #directoryModule(tool: ResolvedTool, permissions: ResolvedPermissions): ToolModule {
    const dir = dirname(tool.path);
    let masked;
    try {
      masked = masksOutsideGrants(this.#masks.masks(dir), permissions);
    } catch (error) {
      if (!(error instanceof MaskScanError)) throw error;
      throw new ToolExecutionError({
        kind: ErrorKind.SpawnFailed,
        toolId: tool.toolId,
        message: `Tool \`${tool.toolId}\` could not be started (bundle: false): ${error.message}; bundle it, or move it to a directory of its own`,
      });
    }
    return { modulePath: tool.path, view: { kind: 'directory', dir, masked }, visible: [dir] };
  }

  // The per-call check of a tool this runtime has built or verified (see freshness.ts).
  #stillFresh(fresh: Fresh): boolean {
    const checked = checkInputs(fresh.inputs);
    if (!checked.fresh) return false;
    fresh.inputs = checked.records;
    const files = fresh.bytecode === undefined ? [fresh.bundle] : [fresh.bundle, fresh.bytecode];
    const stats = files.map((file) => statSync(file, { throwIfNoEntry: false }));
    if (stats.some((stat) => stat === undefined)) return false;
    if (
      stats.every(
        (stat, i) => fresh.verified[i] !== undefined && sameStat(fresh.verified[i], stat!),
      )
    )
      return true;
    // Changed since they were verified: their hashes say whether they are still the ones built.
    if (!this.#options.cache.verify(fresh.manifest)) return false;
    fresh.verified = stats.map((stat) => statFields(stat!));
    return true;
  }

  #ensure(tool: ResolvedTool): Promise<Fresh> {
    let building = this.#building.get(tool.path);
    if (building === undefined) {
      building = this.#load(tool).finally(() => this.#building.delete(tool.path));
      // Callers may all have stopped waiting; the failure is theirs to see, not unhandled.
      building.catch(() => {});
      this.#building.set(tool.path, building);
    }
    return building;
  }

  // The stored entry when it is still valid, else a new build.
  async #load(tool: ResolvedTool): Promise<Fresh> {
    const { cache } = this.#options;
    const bunVersion = this.#options.bunVersion();
    const key = entryKey(tool.path, bunVersion, BUILD_OPTIONS);
    const stored = cache.read(key);
    if (stored !== undefined && stored.entry === tool.path) {
      const checked = checkInputs(stored.inputs);
      const files = bundleFiles(cache.bundlePath(stored), stored);
      // Stat before hashing: a file replaced in between shows a different stat at the next call.
      const stats = verifiedStats(files);
      if (checked.fresh && stats !== undefined && cache.verify(stored)) {
        cache.touch(key);
        const fresh: Fresh = {
          key,
          manifest: stored,
          ...files,
          inputs: checked.records,
          verified: stats,
          built: false,
          root: buildView(tool.path).root,
        };
        this.#fresh.set(tool.path, fresh);
        return fresh;
      }
    }
    return this.#build(tool, key, bunVersion);
  }

  async #build(tool: ResolvedTool, key: string, bunVersion: string): Promise<Fresh> {
    const { cache, matcher } = this.#options;
    const view = buildView(tool.path);
    const staging = cache.staging();
    try {
      // What the filesystem's clock said as the build began: an input changed later (ctime
      // after it) may have changed after the build read it, so its entry is not stored. Not
      // `>=`: a build reads nothing in the tick it starts (a sandboxed Bun takes > 10 ms).
      const mark = statSync(staging).ctimeMs;
      const started = performance.now();
      const report = await runSandboxedBuild(
        this.#options.host,
        { entry: tool.path, outdir: staging, configDirs: view.configDirs, bytecode: true },
        view,
        tool.toolId,
        this.#closing.signal,
      );
      const buildMs = Math.round(performance.now() - started);
      if (!report.ok) {
        if (!existsSync(tool.path)) {
          throw new ToolExecutionError({
            kind: ErrorKind.ToolNotFound,
            toolId: tool.toolId,
            message: `Tool \`${tool.toolId}\`: no module file at ${tool.path}`,
          });
        }
        throw unbuildable(tool, describeProblems(report.problems, view.root));
      }
      const refused = refusedGraph(report, matcher, view.root);
      if (refused !== undefined) throw unbuildable(tool, refused);
      const records = [
        ...new Set([...report.inputs, ...configFiles(report.inputs, view.root)]),
      ].map(recordInput);
      const racy = records.some((record) => record === undefined || record.ctimeMs > mark);
      const inputs = records.filter((record): record is InputRecord => record !== undefined);
      const manifestOf = (bundle: Manifest['bundle']): Manifest => ({
        version: 1,
        entry: tool.path,
        bunVersion,
        options: BUILD_OPTIONS,
        inputs,
        bundle,
        modules: report.inputs.length,
        buildMs,
        builtAt: new Date().toISOString(),
      });
      const withBytecode = report.outputs.some((output) => output.kind === 'bytecode');
      const bundle = cache.commit(
        key,
        join(staging, 'tool.js'),
        withBytecode,
        racy ? undefined : manifestOf,
      );
      const manifest = manifestOf(bundle);
      const files = bundleFiles(cache.bundlePath(manifest), manifest);
      const fresh: Fresh = {
        key,
        manifest,
        ...files,
        inputs,
        // Written and hashed by this process just now: no need to hash it again.
        verified: verifiedStats(files) ?? [],
        built: true,
        root: view.root,
      };
      // A racy build serves the calls that waited for it; the next call builds again.
      if (!racy) this.#fresh.set(tool.path, fresh);
      return fresh;
    } finally {
      cache.discard(staging);
    }
  }

  /**
   * Sandboxed, the bundle is shown at the tool's own path and imported from there (so
   * `import.meta` and paths relative to it are the tool's): Bun runs a file that starts with
   * its `// @bun` pragma, as every bundle does, without transpiling it, whatever its extension
   * (observed on Bun 1.4.5: a `.ts` file with the pragma and a type annotation fails with a
   * JavaScript SyntaxError), so a `.ts` path holding JavaScript is read as JavaScript; and it
   * finds bytecode at `<path>.jsc`. Where a grant shows the tool's directory, the mount point
   * `<path>.jsc` could not be made in it (read-only), and the bundle keeps its cache path (a
   * CommonJS bundle's `import.meta` and `__filename` are the tool's either way: Bun inlines
   * them at build time); unsandboxed there is no view at all.
   */
  #bundleModule(tool: ResolvedTool, fresh: Fresh, permissions: ResolvedPermissions): ToolModule {
    const dir = dirname(tool.path);
    // A grant of the tool's file itself would be mounted over the bundle (same depth, later).
    const atToolPath =
      this.#options.host.mode !== 'none' &&
      ![...permissions.read, ...permissions.write].some(
        (grant) => isInside(dir, grant) || grant.startsWith(tool.path),
      );
    const file = atToolPath ? tool.path : fresh.bundle;
    return {
      modulePath: file,
      view: {
        kind: 'bundle',
        file,
        source: fresh.bundle,
        ...(fresh.bytecode === undefined ? {} : { bytecode: fresh.bytecode }),
      },
      visible: fresh.bytecode === undefined ? [file] : [file, `${file}.jsc`],
    };
  }

  // Waits for a build under the call's own deadline and signal; each call gets its own error.
  #wait(building: Promise<Fresh>, tool: ResolvedTool, wait: BuildWait): Promise<Fresh> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void =>
        reject(waitEnded(wait.signal.reason, tool.toolId, wait.timeoutMs));
      if (wait.signal.aborted) {
        onAbort();
        return;
      }
      wait.signal.addEventListener('abort', onAbort, { once: true });
      building.then(
        (fresh) => {
          wait.signal.removeEventListener('abort', onAbort);
          resolve(fresh);
        },
        (error: unknown) => {
          wait.signal.removeEventListener('abort', onAbort);
          reject(ownCopy(error, tool.toolId));
        },
      );
    });
  }
}

function verifiedStats(files: {
  readonly bundle: string;
  readonly bytecode: string | undefined;
}): Array<ReturnType<typeof statFields>> | undefined {
  const stats = [files.bundle, ...(files.bytecode === undefined ? [] : [files.bytecode])].map(
    (file) => statSync(file, { throwIfNoEntry: false }),
  );
  return stats.every((stat) => stat !== undefined) ? stats.map(statFields) : undefined;
}

function bundleFiles(
  bundle: string,
  manifest: Manifest,
): { readonly bundle: string; readonly bytecode: string | undefined } {
  return { bundle, bytecode: manifest.bundle.bytecode === undefined ? undefined : `${bundle}.jsc` };
}

function unbuildable(tool: ResolvedTool, why: string): ToolExecutionError {
  return new ToolExecutionError({
    kind: ErrorKind.ToolError,
    toolId: tool.toolId,
    message: `Tool \`${tool.toolId}\` could not be built: ${why}`,
  });
}

function waitEnded(reason: unknown, toolId: string, timeoutMs: number): ToolExecutionError {
  return reason === 'timeout'
    ? new ToolExecutionError({
        kind: ErrorKind.Timeout,
        toolId,
        message: `Tool \`${toolId}\` timed out after ${timeoutMs} ms while being built`,
      })
    : new ToolExecutionError({
        kind: ErrorKind.Cancelled,
        toolId,
        message:
          reason === 'cancelled'
            ? `Tool \`${toolId}\` was cancelled by the caller while being built`
            : `Tool \`${toolId}\` was cancelled while being built: the runtime was closed`,
      });
}

// Errors of a shared build reach several calls, each of which records its own duration on it.
function ownCopy(error: unknown, toolId: string): ToolExecutionError {
  if (isToolExecutionError(error)) {
    return new ToolExecutionError({
      kind: error.kind,
      toolId: error.toolId,
      message: error.message,
      logs: error.logs,
      ...(error.cause === undefined ? {} : { cause: error.cause }),
    });
  }
  return new ToolExecutionError({
    kind: ErrorKind.Internal,
    toolId,
    message: `Tool \`${toolId}\`: internal error while building: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}

/**
 * The files besides the modules that steer resolution: each `package.json` (exports, main,
 * type) and `tsconfig.json`/`jsconfig.json` (paths) from a module's directory up to the root
 * (up to `/` for a module outside it, a hoisted package).
 */
function configFiles(modules: readonly string[], root: string): string[] {
  const seen = new Set<string>();
  const found: string[] = [];
  for (const module of modules) {
    for (let dir = dirname(module); !seen.has(dir); dir = dirname(dir)) {
      seen.add(dir);
      for (const name of ['package.json', 'tsconfig.json', 'jsconfig.json']) {
        const path = join(dir, name);
        if (existsSync(path)) found.push(path);
      }
      if (dir === root || dir === dirname(dir)) break;
    }
  }
  return found;
}
