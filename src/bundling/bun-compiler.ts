/**
 * The Bun-side build of one tool: `Bun.build` of its entry, with toolcage's worker, into one
 * module (see carrierFiles), run by the worker as a "tool" inside the sandbox (run-compiler.ts).
 * It reads the project, writes only into its output directory, and reports what it read.
 * Never runs the project's code: `macros: false` (the `--no-macros` flag does not reach
 * `Bun.build`: a macro still ran), no plugins, and a project `bunfig.toml` asking to preload code
 * is refused (toolcage never reads it). Self-contained (its types are in compiler-protocol.ts):
 * only this file of the build's code is visible in the sandbox. Typed by tsconfig.bun.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { BuildImport, BuildInput, BuildProblem, BuildReport } from './compiler-protocol.js';

// One of the build's logs, as Bun's types give them (a BuildMessage or a ResolveMessage).
type BunLog = Bun.BuildOutput['logs'][number];

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
  // Metafile paths are relative to the working directory. The carrier's modules are toolcage's,
  // not the tool's: neither inputs nor imports of it.
  const absolute = (path: string): string => resolve(process.cwd(), path);
  anchorSourceMap(join(input.outdir, 'tool.js.map'));
  const carrier = new Set([...Object.keys(carrierFiles(input).files), input.worker]);
  const imports: BuildImport[] = [];
  for (const [from, info] of Object.entries(result.metafile.inputs)) {
    if (carrier.has(absolute(from))) continue;
    for (const edge of info.imports ?? []) {
      const loader = edge.with?.['type'];
      imports.push({
        from: absolute(from),
        path: absolute(edge.path),
        original: edge.original ?? edge.path,
        ...(loader === undefined ? {} : { loader }),
      });
    }
  }
  return {
    ok: true,
    inputs: Object.keys(result.metafile.inputs)
      .map(absolute)
      .filter((path) => !carrier.has(path)),
    imports,
    outputs: result.outputs.map((output) => ({
      name: output.path.slice(input.outdir.length + 1),
      kind: output.kind,
    })),
    format,
  };
}

/**
 * The bundle's entry, in memory (Bun.build's `files`): it leaves the tool's loader where the
 * worker looks for it (`globalThis[Symbol.for('toolcage.embedded')]`, see worker/run.ts), then
 * starts the worker. The loader is a dynamic import of a module inside the bundle, which
 * Bun.build turns into a lazy initialiser (observed: `__esm(() => { …the tool's
 * top level… })`, called on the import): the tool's top level runs when the worker loads it,
 * after the request's variables are set, not when the bundle starts. At a fixed place, nowhere
 * on disk: the bundle names its modules' paths in comments, and the same tool must give the
 * same bytes whichever build made it.
 */
function carrierFiles(input: BuildInput): { entry: string; files: Record<string, string> } {
  const entry = '/toolcage-carrier/entry.js';
  const loader = `{ load: () => import(${JSON.stringify(input.entry)}), worker: ${JSON.stringify(pathToFileURL(input.worker).href)} }`;
  return {
    entry,
    files: {
      [entry]: [
        `import { startWorker } from ${JSON.stringify(input.worker)};`,
        `globalThis[Symbol.for('toolcage.embedded')] = ${loader};`,
        'void startWorker();',
        '',
      ].join('\n'),
    },
  };
}

function bundle(input: BuildInput, format: 'cjs' | 'esm'): Promise<Bun.BuildOutput> {
  const carrier = carrierFiles(input);
  // `macros` is read by Bun.build (see the file's head) but not declared by its types
  // (@types/bun 1.4.5): the config is typed with it added.
  const config: Bun.BuildConfig & { readonly macros: false } = {
    entrypoints: [carrier.entry],
    files: carrier.files,
    outdir: input.outdir,
    naming: { entry: 'tool.[ext]' },
    target: 'bun',
    format,
    bytecode: format === 'cjs',
    macros: false,
    packages: 'bundle',
    env: 'disable',
    // Beside the bundle (`tool.js.map`), rewritten by anchorSourceMap; see there.
    sourcemap: 'external',
    splitting: false,
    metafile: true,
    throw: false,
  };
  return Bun.build(config);
}

/**
 * Makes the bundle's source map name each source by its absolute path. Observed:
 * Bun maps the stack of a bundle through `<bundle>.map` when one lies beside the file it runs
 * (an external map; the bundle carries only a `debugId`), and resolves the map's `sources`
 * relative to that file. Bun writes them relative to the build's output directory, but the
 * bundle runs elsewhere (at the tool's own path in the sandbox, from the cache outside it), so
 * a relative name would point at the wrong file. The map is external, not inline, because the
 * bundle's bytes must stay those its bytecode was made from. `sourcesContent` is emptied (the
 * stack needs only the mappings; the key must stay, or Bun rejects the map as invalid): the map
 * is a fraction of the size, and shows nothing of the sources inside the sandbox.
 */
function anchorSourceMap(file: string): void {
  if (!existsSync(file)) return;
  const map = JSON.parse(readFileSync(file, 'utf8')) as {
    sources?: unknown;
    [key: string]: unknown;
  };
  const sources = Array.isArray(map.sources) ? map.sources.map(String) : [];
  const dir = resolve(file, '..');
  map.sources = sources.map((source) => resolve(dir, source));
  map['sourcesContent'] = sources.map(() => null);
  writeFileSync(file, JSON.stringify(map));
}

// Observed on Bun 1.4.5 for a top-level await in a CommonJS build.
function isTopLevelAwait(log: BunLog): boolean {
  return /"await" can only be used inside an "async" function/.test(log.message);
}

function problemOf(log: BunLog): BuildProblem {
  const position = log.position ?? undefined;
  const where = {
    ...(position?.file === undefined ? {} : { file: position.file }),
    ...(position?.line === undefined ? {} : { line: position.line }),
    ...(position?.column === undefined ? {} : { column: position.column }),
  };
  if (log.name === 'ResolveMessage') {
    return { kind: 'resolve', message: log.message, ...where, specifier: log.specifier };
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
