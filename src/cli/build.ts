/**
 * `toolcage build`: compiles tools ahead of their calls (for images and CI) into the build cache
 * `toolcage run`, `toolcage worker` and the library use, and says what each one is made of.
 */
import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { createBundler } from '../runtime/bundler-host.js';
import { shortPath } from '../bundling/compile-errors.js';
import { BUILD_TIMEOUT_MS } from '../bundling/run-compiler.js';
import { isToolExecutionError } from '../errors/tool-execution-error.js';
import { bunVersion, resolveBunBinary } from '../runtime/bun-binary.js';
import { effectiveProfile } from '../runtime/effective.js';
import { normalizeOptions } from '../runtime/runtime-options.js';
import { packageFiles } from '../runtime/package-files.js';
import { resolveTool } from '../runtime/resolve-tool.js';
import { createSandbox } from '../sandbox/sandbox.js';
import type { Command } from './args.js';
import { UsageError } from './args.js';
import { readRegistryFile } from './registry-file.js';

type BuildCommand = Extract<Command, { command: 'build' }>;

/** What `build` reports of one tool. */
export interface BuiltReport {
  readonly id: string;
  readonly entry: string;
  readonly ok: boolean;
  readonly bundled: boolean;
  readonly cached?: boolean;
  readonly buildMs?: number;
  readonly bytes?: number;
  readonly bundle?: string;
  /** Every input of the graph, relative to the project's root. */
  readonly inputs?: readonly string[];
  readonly error?: Record<string, unknown>;
}

interface Target {
  readonly id: string;
  readonly request: { readonly toolId: string } | { readonly toolPath: string };
  readonly options: ReturnType<typeof normalizeOptions>;
}

/** Runs `toolcage build`; returns the exit status (1 when a tool could not be built). */
export async function buildCommand(command: BuildCommand): Promise<number> {
  const targets = command.registry === undefined ? fileTargets(command) : registryTargets(command);
  const bunPath = resolveBunBinary();
  const bundlers = new Map<string, ReturnType<typeof createBundler>>();
  const reports: BuiltReport[] = [];
  const closing = new AbortController();
  const sandbox = createSandbox();
  try {
    for (const target of targets) {
      const bundler =
        bundlers.get(target.options.rootDir) ??
        createBundler(target.options, {
          sandbox,
          bunPath,
          bunVersion: () => bunVersion(bunPath),
          files: packageFiles(),
        });
      bundlers.set(target.options.rootDir, bundler);
      reports.push(await buildOne(target, bundler, closing.signal));
    }
  } finally {
    closing.abort();
    await Promise.all([...bundlers.values()].map((bundler) => bundler.close()));
    await sandbox.settled();
  }
  process.stdout.write(
    command.json
      ? `${JSON.stringify({ ok: reports.every((r) => r.ok), tools: reports })}\n`
      : reports.map((report) => renderReport(report, command.verbose)).join(''),
  );
  return reports.every((report) => report.ok) ? 0 : 1;
}

async function buildOne(
  target: Target,
  bundler: ReturnType<typeof createBundler>,
  signal: AbortSignal,
): Promise<BuiltReport> {
  let entry = 'toolPath' in target.request ? target.request.toolPath : target.id;
  try {
    const tool = resolveTool(target.request, target.options);
    entry = tool.path;
    if (tool.definition?.bundle === false)
      return { id: target.id, entry, ok: true, bundled: false };
    const started = performance.now();
    // Built for the tool's own permissions: the data it may inline from outside its package.
    const { permissions } = effectiveProfile(target.options, tool, {});
    const built = await bundler.build(tool, { signal, timeoutMs: BUILD_TIMEOUT_MS }, permissions);
    return {
      id: target.id,
      entry,
      ok: true,
      bundled: true,
      cached: built.cached,
      buildMs: built.cached ? built.manifest.buildMs : Math.round(performance.now() - started),
      bytes: built.manifest.bundle.bytes,
      bundle: built.bundlePath,
      inputs: built.manifest.inputs.map((input) => shortPath(input.path, built.root)),
    };
  } catch (error) {
    if (!isToolExecutionError(error)) throw error;
    return { id: target.id, entry, ok: false, bundled: true, error: error.toJSON() };
  }
}

/**
 * One line per tool: what it is made of and whether this command built it or found it built
 * (`built in 912 ms` against `already built (the build took 91 ms)`: the time is the build's,
 * never this command's); with `verbose`, its inputs and its bundle's path below.
 */
function renderReport(report: BuiltReport, verbose: boolean): string {
  const head = `${report.id}  ${shownPath(report.entry)}`;
  if (!report.ok) {
    const error = report.error as { kind: string; message: string };
    return `${head}  failed: ${error.kind}: ${error.message}\n`;
  }
  if (!report.bundled) return `${head}  not bundled (bundle: false)\n`;
  const how =
    report.cached === true
      ? `already built (the build took ${report.buildMs} ms)`
      : `built in ${report.buildMs} ms`;
  const lines = [
    `${head}  ${report.inputs?.length ?? 0} inputs, ${kib(report.bytes ?? 0)}, ${how}`,
  ];
  if (verbose) {
    lines.push(
      ...(report.inputs ?? []).map((input) => `    ${input}`),
      `  bundle: ${report.bundle}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// A path relative to the working directory when it lies below it.
function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown === '' || shown.startsWith('..') || isAbsolute(shown) ? path : shown;
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function fileTargets(command: BuildCommand): Target[] {
  return command.files.map((file) => {
    const path = resolve(file);
    return {
      id: basename(path, extname(path)),
      request: { toolPath: path },
      options: normalizeOptions({
        rootDir: dirname(path),
        toolRoots: [dirname(path)],
        sandbox: command.sandbox ?? 'auto',
      }),
    };
  });
}

// A registry file (see registry-file.ts: the one `toolcage worker` serves); `--sandbox` wins
// over its `sandbox`.
function registryTargets(command: BuildCommand): Target[] {
  let options;
  try {
    const registry = readRegistryFile(command.registry!);
    options = normalizeOptions({
      ...registry,
      ...(command.sandbox === undefined ? {} : { sandbox: command.sandbox }),
    });
  } catch (error) {
    throw new UsageError(`--registry: ${(error as Error).message}`, command.json);
  }
  return [...options.tools.keys()].map((id) => ({ id, request: { toolId: id }, options }));
}
