/**
 * The module a call runs, and what the sandbox shows of the tool: its bundle — built on demand,
 * sandboxed, and cached by the content of its inputs — or, for a tool registered with
 * `bundle: false`, its directory with secret-bearing entries masked.
 *
 * Per call, a tool already built or verified by this runtime costs one `stat` per input and one
 * of the bundle and its bytecode (see freshness.ts); a hash is computed only for a file whose
 * stat changed. The first call of a runtime reads the entry's manifest, checks the inputs the
 * same way and verifies the bundle's hashes once. A build runs at most once at a time per tool
 * in a runtime; calls that need it wait for it under their own deadline (see compile-wait.ts).
 */
import { statSync } from 'node:fs';
import type { ToolSource } from './tool-source.js';
import { resolvePermissions } from '../sandbox/permissions.js';
import type { ResolvedPermissions } from '../sandbox/types.js';
import { refusedAsset } from './assets.js';
import { buildOptions, buildTool, unbuildable } from './compile-tool.js';
import { waitForBuild, type BuildWait } from './compile-wait.js';
import { entryKey, type BuildCache, type Manifest } from './cache.js';
import {
  checkInputs,
  sameStat,
  statFields,
  type InputRecord,
  type StatFields,
} from './freshness.js';
import { DirectoryMasks } from './mask.js';
import { secretComponent, type NameMatcher } from './secret-patterns.js';
import { projectRoot } from './project.js';
import type { BuildHost } from './run-compiler.js';
import { bundleModule, directoryModule, withMasks, type ToolModule } from './tool-module.js';

export type { BuildWait } from './compile-wait.js';
export type { ToolModule } from './tool-module.js';

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
  /** Bun's version (part of the cache key), asked once per binary (see bun-binary.ts). */
  readonly bunVersion: () => Promise<string>;
  /** Secret-bearing names: refused as imports, masked in the tool's and granted directories. */
  readonly matcher: NameMatcher;
}

// A bundle this runtime knows to be current, as of its last check.
interface Fresh {
  readonly manifest: Manifest;
  /** The bundle in the cache, and its bytecode (`<bundle>.jsc`) and source map if it has them. */
  readonly bundle: string;
  readonly bytecode: string | undefined;
  readonly sourcemap: string | undefined;
  inputs: readonly InputRecord[];
  /** The stats of the bundle and its bytecode when their hashes were last verified. */
  verified: readonly StatFields[];
  /** Built by this runtime (not found in the cache). */
  readonly built: boolean;
  readonly root: string;
}

/** Bundles of one runtime's tools, and the masks of what its sandboxes show. */
export class ToolBundler {
  readonly #options: BundlerOptions;
  readonly #masks: DirectoryMasks;
  readonly #fresh = new Map<string, Fresh>();
  readonly #building = new Map<string, Promise<Fresh>>();
  readonly #closing = new AbortController();
  // buildOptions() of the worker, read at the first build or cache lookup.
  #buildOptions: string | undefined;

  constructor(options: BundlerOptions) {
    this.#options = options;
    this.#masks = new DirectoryMasks(options.matcher);
  }

  /**
   * The module of one call. Rejects with a ToolExecutionError: `tool_error` when the tool
   * cannot be built (the message names the file and the import), `tool_not_found` when its entry
   * is gone, `spawn_failed` when the build's sandbox cannot start or a directory cannot be
   * masked, `timeout`/`cancelled` when the call's signal ends the wait.
   */
  module(
    tool: ToolSource,
    permissions: ResolvedPermissions,
    wait: BuildWait,
  ): ToolModule | Promise<ToolModule> {
    if (tool.definition?.bundle === false)
      return this.#masked(directoryModule(tool), tool, permissions);
    const fresh = this.#fresh.get(tool.path);
    if (fresh !== undefined && this.#stillFresh(fresh))
      return this.#bundled(tool, fresh, permissions);
    return waitForBuild(this.#ensure(tool, permissions), tool.toolId, wait).then((built) =>
      this.#bundled(tool, built, permissions),
    );
  }

  /**
   * Builds a tool (or finds it in the cache) ahead of its calls: `toolcage build`, for calls
   * with `permissions` (the tool's own).
   */
  async build(
    tool: ToolSource,
    wait: BuildWait,
    permissions: ResolvedPermissions = resolvePermissions({}),
  ): Promise<BuiltTool> {
    const known = this.#fresh.get(tool.path);
    const fresh = known !== undefined && this.#stillFresh(known) ? known : undefined;
    const built = fresh ?? (await waitForBuild(this.#ensure(tool, permissions), tool.toolId, wait));
    this.#checkAssets(tool, built, permissions);
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

  #bundled(tool: ToolSource, built: Fresh, permissions: ResolvedPermissions): ToolModule {
    this.#checkAssets(tool, built, permissions);
    const sandboxed = this.#options.host.mode !== 'none';
    return this.#masked(bundleModule(tool, built, permissions, sandboxed), tool, permissions);
  }

  // A bundle built for a call with a grant does not serve one without it (see assets.ts).
  #checkAssets(tool: ToolSource, built: Fresh, permissions: ResolvedPermissions): void {
    const refused = refusedAsset(built.manifest.assets, permissions, tool.path, built.root);
    if (refused !== undefined) throw unbuildable(tool, refused);
  }

  // Unsandboxed, the tool sees the host as it is: nothing to mask.
  #masked(module: ToolModule, tool: ToolSource, permissions: ResolvedPermissions): ToolModule {
    if (this.#options.host.mode === 'none') return module;
    const { host } = this.#options;
    return withMasks(module, tool, this.#masks, permissions, [host.bunPath, ...host.runtimeFiles]);
  }

  // The per-call check of a tool this runtime has built or verified (see freshness.ts).
  #stillFresh(fresh: Fresh): boolean {
    const checked = checkInputs(fresh.inputs);
    if (!checked.fresh) return false;
    fresh.inputs = checked.records;
    const stats = bundleStats(fresh);
    if (stats === undefined) return false;
    if (
      stats.every((stat, i) => fresh.verified[i] !== undefined && sameStat(fresh.verified[i], stat))
    )
      return true;
    // Changed since they were verified: their hashes say whether they are still the ones built.
    if (!this.#options.cache.verify(fresh.manifest)) return false;
    fresh.verified = stats;
    return true;
  }

  #ensure(tool: ToolSource, permissions: ResolvedPermissions): Promise<Fresh> {
    let building = this.#building.get(tool.path);
    if (building === undefined) {
      building = this.#load(tool, permissions).finally(() => this.#building.delete(tool.path));
      // Callers may all have stopped waiting; the failure is theirs to see, not unhandled.
      building.catch(() => {});
      this.#building.set(tool.path, building);
    }
    return building;
  }

  // The stored entry when it is still valid, else a new build.
  async #load(tool: ToolSource, permissions: ResolvedPermissions): Promise<Fresh> {
    const { cache } = this.#options;
    const bunVersion = await this.#options.bunVersion();
    const options = (this.#buildOptions ??= buildOptions(this.#options.host.worker));
    const key = entryKey(tool.path, bunVersion, options);
    const stored = cache.read(key);
    const root = projectRoot(tool.path);
    // Built by a runtime whose secret-bearing names were fewer: built again, so refused here.
    const allowed =
      stored?.inputs.every(
        (input) => secretComponent(input.path, root, this.#options.matcher) === undefined,
      ) === true;
    if (stored !== undefined && stored.entry === tool.path && allowed) {
      const checked = checkInputs(stored.inputs);
      const files = bundleFiles(cache, stored);
      // Stat before hashing: a file replaced in between shows a different stat at the next call.
      const stats = bundleStats(files);
      if (checked.fresh && stats !== undefined && cache.verify(stored)) {
        cache.touch(key);
        const fresh: Fresh = {
          manifest: stored,
          ...files,
          inputs: checked.records,
          verified: stats,
          built: false,
          root,
        };
        this.#fresh.set(tool.path, fresh);
        return fresh;
      }
    }
    const built = await buildTool(
      { ...this.#options, options, signal: this.#closing.signal },
      tool,
      key,
      { bunVersion, root, permissions },
    );
    const files = bundleFiles(cache, built.manifest);
    const fresh: Fresh = {
      manifest: built.manifest,
      ...files,
      inputs: built.manifest.inputs,
      // Written and hashed by this process just now: no need to hash it again.
      verified: bundleStats(files) ?? [],
      built: true,
      root: built.root,
    };
    // A build whose inputs changed while it ran serves the calls that waited for it; the next
    // call builds again.
    if (built.stored) this.#fresh.set(tool.path, fresh);
    return fresh;
  }
}

function bundleFiles(
  cache: BuildCache,
  manifest: Manifest,
): {
  readonly bundle: string;
  readonly bytecode: string | undefined;
  readonly sourcemap: string | undefined;
} {
  const bundle = cache.bundlePath(manifest);
  const { bytecode, sourcemap } = manifest.bundle;
  return {
    bundle,
    bytecode: bytecode === undefined ? undefined : `${bundle}.jsc`,
    sourcemap: sourcemap === undefined ? undefined : `${bundle}.map`,
  };
}

// The stats of a bundle and its bytecode; undefined when one is gone.
function bundleStats(files: {
  readonly bundle: string;
  readonly bytecode: string | undefined;
}): StatFields[] | undefined {
  const stats: StatFields[] = [];
  for (const file of files.bytecode === undefined
    ? [files.bundle]
    : [files.bundle, files.bytecode]) {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (stat === undefined) return undefined;
    stats.push(statFields(stat));
  }
  return stats;
}
