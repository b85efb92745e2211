/**
 * The Bun-side build of one tool: `Bun.build` of its entry into one module, run by the worker as
 * a "tool" inside the sandbox (src/build/sandboxed-build.ts). It reads the project, writes only
 * into its output directory, and reports what it read; the manager decides what to keep.
 *
 * Never runs the project's code: `macros: false` (observed on Bun 1.4.5: the `--no-macros` flag
 * does not reach `Bun.build` — a macro still ran and wrote its marker file — while the option
 * refuses it with "Macros are disabled" before running anything), no plugins, and a project
 * `bunfig.toml` asking to preload code is refused rather than silently ignored (toolcage never
 * reads it, so a tool relying on it would run without it).
 *
 * Self-contained (no imports from the rest of toolcage): it is loaded by the worker, inside the
 * sandbox, where only this file is visible of the build's code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What the manager asks for. */
export interface BuildInput {
  /** Absolute real path of the tool's entry module. */
  readonly entry: string;
  /** Directory the bundle is written to (the only writable path). */
  readonly outdir: string;
  /** Directories where a project `bunfig.toml` would be read (the tool's up to the project root). */
  readonly configDirs: readonly string[];
  /**
   * Emit Bun bytecode beside the bundle. The bundle is CommonJS then (Bun 1.4.5 refuses ESM
   * bytecode without `compile`), unless the graph has a top-level await, which CommonJS cannot
   * hold: that graph is built again as ESM, without bytecode.
   */
  readonly bytecode: boolean;
}

/** One problem that stopped the build. */
export interface BuildProblem {
  readonly kind: 'resolve' | 'syntax' | 'macro' | 'bunfig' | 'other';
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** The import that could not be resolved. */
  readonly specifier?: string;
}

/** One import edge of the graph (absolute paths). */
export interface BuildImport {
  readonly from: string;
  readonly path: string;
  /** The specifier as written. */
  readonly original: string;
}

/** What the build produced. */
export type BuildReport =
  | {
      readonly ok: true;
      /** Every module inlined, absolute real paths. */
      readonly inputs: readonly string[];
      readonly imports: readonly BuildImport[];
      /** Files written into `outdir`, names relative to it. */
      readonly outputs: ReadonlyArray<{ readonly name: string; readonly kind: string }>;
      readonly format: 'cjs' | 'esm';
    }
  | { readonly ok: false; readonly problems: readonly BuildProblem[] };

// The part of Bun's API used here, declared so the package needs no Bun type definitions.
interface BunMessage {
  readonly name?: string;
  readonly message: string;
  readonly level?: string;
  readonly specifier?: string;
  readonly position?: {
    readonly file?: string;
    readonly line?: number;
    readonly column?: number;
  } | null;
}
interface BunMetafile {
  readonly inputs: Record<
    string,
    { readonly imports?: ReadonlyArray<{ readonly path: string; readonly original?: string }> }
  >;
}
declare const Bun: {
  build(config: Record<string, unknown>): Promise<{
    readonly success: boolean;
    readonly logs: readonly BunMessage[];
    readonly outputs: ReadonlyArray<{ readonly path: string; readonly kind: string }>;
    readonly metafile?: BunMetafile;
  }>;
  readonly TOML: { parse(text: string): unknown };
};

/** Builds `input.entry`; never throws for a problem of the tool's project, reports it. */
export default async function build(input: BuildInput): Promise<BuildReport> {
  const refused = refusedBunfig(input.configDirs);
  if (refused !== undefined) return { ok: false, problems: [refused] };
  let format: 'cjs' | 'esm' = input.bytecode ? 'cjs' : 'esm';
  let result = await bundle(input, format);
  if (format === 'cjs' && !result.success && result.logs.some(isTopLevelAwait)) {
    format = 'esm';
    result = await bundle(input, format);
  }
  if (!result.success || result.metafile === undefined) {
    const problems = result.logs.filter((log) => log.level !== 'warning').map(problemOf);
    return {
      ok: false,
      problems: problems.length > 0 ? problems : [{ kind: 'other', message: 'the build failed' }],
    };
  }
  // Metafile paths are relative to the working directory.
  const absolute = (path: string): string => resolve(process.cwd(), path);
  const imports: BuildImport[] = [];
  for (const [from, info] of Object.entries(result.metafile.inputs)) {
    for (const edge of info.imports ?? []) {
      imports.push({
        from: absolute(from),
        path: absolute(edge.path),
        original: edge.original ?? edge.path,
      });
    }
  }
  return {
    ok: true,
    inputs: Object.keys(result.metafile.inputs).map(absolute),
    imports,
    outputs: result.outputs.map((output) => ({
      name: output.path.slice(input.outdir.length + 1),
      kind: output.kind,
    })),
    format,
  };
}

function bundle(input: BuildInput, format: 'cjs' | 'esm') {
  return Bun.build({
    entrypoints: [input.entry],
    outdir: input.outdir,
    naming: { entry: 'tool.[ext]' },
    target: 'bun',
    format,
    bytecode: format === 'cjs',
    macros: false,
    packages: 'bundle',
    env: 'disable',
    sourcemap: 'none',
    splitting: false,
    metafile: true,
    throw: false,
  });
}

// Observed on Bun 1.4.5 for a top-level await in a CommonJS build.
function isTopLevelAwait(log: BunMessage): boolean {
  return /"await" can only be used inside an "async" function/.test(log.message);
}

function problemOf(log: BunMessage): BuildProblem {
  const position = log.position ?? undefined;
  const where = {
    ...(position?.file === undefined ? {} : { file: position.file }),
    ...(position?.line === undefined ? {} : { line: position.line }),
    ...(position?.column === undefined ? {} : { column: position.column }),
  };
  if (log.name === 'ResolveMessage' || log.specifier !== undefined) {
    return {
      kind: 'resolve',
      message: log.message,
      ...where,
      ...(log.specifier === undefined ? {} : { specifier: log.specifier }),
    };
  }
  if (/Macros are disabled/.test(log.message))
    return { kind: 'macro', message: log.message, ...where };
  return {
    kind: position?.file === undefined ? 'other' : 'syntax',
    message: log.message,
    ...where,
  };
}

// A project bunfig.toml that asks Bun to run code first (`preload`, `plugins`).
function refusedBunfig(dirs: readonly string[]): BuildProblem | undefined {
  for (const dir of dirs) {
    const file = join(dir, 'bunfig.toml');
    if (!existsSync(file)) continue;
    let config: unknown;
    try {
      config = Bun.TOML.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      return {
        kind: 'bunfig',
        file,
        message: `cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    const top = (typeof config === 'object' && config !== null ? config : {}) as Record<
      string,
      unknown
    >;
    for (const key of ['preload', 'plugins']) {
      const value = top[key];
      if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
        return {
          kind: 'bunfig',
          file,
          message: `asks Bun to ${key === 'preload' ? 'preload' : 'load the plugins'} ${JSON.stringify(value)}; toolcage never runs a project's ${key} (import what the tool needs from the tool itself)`,
        };
      }
    }
  }
  return undefined;
}
