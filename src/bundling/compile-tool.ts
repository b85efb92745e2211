/**
 * One build of a tool, from its entry to a cache entry: the sandboxed build, the checks of what
 * it inlined, the inputs recorded with their content hashes, and the commit into the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorKind } from '../errors/kinds.js';
import { ToolExecutionError } from '../errors/tool-execution-error.js';
import type { ToolSource } from './tool-source.js';
import type { ResolvedPermissions } from '../sandbox/types.js';
import { outsideAssets, refusedAsset, type OutsideAsset } from './assets.js';
import { describeProblems, refusedGraph } from './compile-errors.js';
import type { BuildCache, Manifest } from './cache.js';
import type { BuildProblem, BuildReport } from './compiler-protocol.js';
import { recordInput, type InputRecord } from './freshness.js';
import type { NameMatcher } from './secret-patterns.js';
import { buildView, type BuildView } from './project.js';
import { runSandboxedBuild, type BuildHost } from './run-compiler.js';

/**
 * The build's options, part of every cache key; `revision` is bumped whenever they or the output
 * layout change. A bundle carries toolcage's worker (bun-compiler.ts), so the worker's path and
 * content are part of the key too: another install or version of toolcage builds its own.
 * Bytecode: a bundle loads much faster with it (docs/performance.md, "Bytecode for bundles").
 */
export function buildOptions(worker: string): string {
  return JSON.stringify({
    revision: 3,
    target: 'bun',
    format: 'cjs with bytecode; esm for a top-level await',
    macros: false,
    sourcemap: 'external, absolute sources, no sourcesContent',
    env: 'disable',
    // Its path too: the bundle loads the worker's slow paths from beside it.
    worker: [worker, createHash('sha256').update(readFileSync(worker)).digest('hex')],
  });
}

/** What one build needs of its runtime. */
export interface BuildContext {
  readonly host: BuildHost;
  readonly cache: BuildCache;
  readonly matcher: NameMatcher;
  /** buildOptions() of the host's worker. */
  readonly options: string;
  /** Aborts when the runtime closes. */
  readonly signal: AbortSignal;
}

/** A build that went through. */
export interface Built {
  readonly manifest: Manifest;
  /** False when an input changed while it was being built: it serves this call, not stored. */
  readonly stored: boolean;
  /** The project's root (messages and `toolcage build` show inputs relative to it). */
  readonly root: string;
}

/**
 * Builds `tool` (of the project `root`) under the cache key `key`, for a call with `permissions`
 * (what data it may inline from outside its package, see assets.ts). Rejects with a
 * ToolExecutionError: `tool_error` naming why it cannot be built, `tool_not_found` when the
 * entry is gone, and what runSandboxedBuild rejects with. Leaves nothing in the cache's staging
 * area.
 */
export async function buildTool(
  context: BuildContext,
  tool: ToolSource,
  key: string,
  build: {
    readonly bunVersion: string;
    readonly root: string;
    readonly permissions: ResolvedPermissions;
  },
): Promise<Built> {
  const { cache } = context;
  const view = buildView(tool.path, build.root);
  const staging = cache.staging();
  try {
    // What the filesystem's clock said as the build began: an input changed later (ctime after
    // it) may have changed after the build read it, so its entry is not stored. Not `>=`: a
    // build reads nothing in the tick it starts (a sandboxed Bun takes many ticks to get there).
    const mark = statSync(staging).ctimeMs;
    const { report, buildMs } = await compileInto(context, tool, staging, view);
    const assets = allowedAssets(report, context.matcher, build.permissions, tool, view.root);
    const { inputs, racy } = recordInputs(report, view.root, mark);
    const manifestOf = (bundle: Manifest['bundle']): Manifest => ({
      version: 1,
      entry: tool.path,
      bunVersion: build.bunVersion,
      options: context.options,
      inputs,
      assets: [...new Set(assets.map((asset) => asset.path))],
      bundle,
      modules: report.inputs.length,
      buildMs,
      builtAt: new Date().toISOString(),
    });
    const has = (kind: string): boolean => report.outputs.some((output) => output.kind === kind);
    const bundle = cache.commit(
      key,
      join(staging, 'tool.js'),
      { bytecode: has('bytecode'), sourcemap: has('sourcemap') },
      racy ? undefined : manifestOf,
    );
    return { manifest: manifestOf(bundle), stored: !racy, root: view.root };
  } finally {
    cache.discard(staging);
  }
}

type BuiltReport = Extract<BuildReport, { ok: true }>;

// Runs the sandboxed build of `tool` into `staging`, timed; rejects when it did not build.
async function compileInto(
  context: BuildContext,
  tool: ToolSource,
  staging: string,
  view: BuildView,
): Promise<{ report: BuiltReport; buildMs: number }> {
  const started = performance.now();
  const report = await runSandboxedBuild(
    context.host,
    {
      entry: tool.path,
      outdir: staging,
      configDirs: view.configDirs,
      bytecode: true,
      worker: context.host.worker,
    },
    view,
    tool.toolId,
    context.signal,
  );
  const buildMs = Math.round(performance.now() - started);
  if (!report.ok) throw notBuilt(tool, report.problems, view.root);
  return { report, buildMs };
}

// Why a build failed: its entry is gone (`tool_not_found`), or the builder's problems.
function notBuilt(
  tool: ToolSource,
  problems: readonly BuildProblem[],
  root: string,
): ToolExecutionError {
  if (!existsSync(tool.path)) {
    return new ToolExecutionError({
      kind: ErrorKind.ToolNotFound,
      toolId: tool.toolId,
      message: `Tool \`${tool.toolId}\`: no module file at ${tool.path}`,
    });
  }
  return unbuildable(tool, describeProblems(problems, root));
}

// The data files the graph inlined from outside the tool's package; throws when the graph or
// one of them may not be used (see compile-errors.ts and assets.ts).
function allowedAssets(
  report: BuiltReport,
  matcher: NameMatcher,
  permissions: ResolvedPermissions,
  tool: ToolSource,
  root: string,
): OutsideAsset[] {
  const assets = outsideAssets(report, tool.path);
  const refused =
    refusedGraph(report, matcher, root) ?? refusedAsset(assets, permissions, tool.path, root);
  if (refused !== undefined) throw unbuildable(tool, refused);
  return assets;
}

// The build's inputs (its modules and their configFiles) with their content hashes; `racy` when
// one is gone or changed after `mark`.
function recordInputs(
  report: BuiltReport,
  root: string,
  mark: number,
): { inputs: InputRecord[]; racy: boolean } {
  const records = [...new Set([...report.inputs, ...configFiles(report.inputs, root)])].map(
    recordInput,
  );
  return {
    racy: records.some((record) => record === undefined || record.ctimeMs > mark),
    inputs: records.filter((record): record is InputRecord => record !== undefined),
  };
}

/** The error of a tool whose graph cannot be used, saying `why`. */
export function unbuildable(tool: ToolSource, why: string): ToolExecutionError {
  return new ToolExecutionError({
    kind: ErrorKind.ToolError,
    toolId: tool.toolId,
    message: `Tool \`${tool.toolId}\` could not be built: ${why}`,
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
