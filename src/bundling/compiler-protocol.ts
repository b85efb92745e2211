/**
 * What the manager (run-compiler.ts) and the Bun-side builder (bun-compiler.ts) exchange: the
 * build's input and its report. Types only, shared by both sides (bun-compiler.ts runs in Bun).
 */

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
  /**
   * toolcage's worker (run.ts or its build, absolute): the bundle carries it and starts it, the
   * tool's module evaluated when the worker loads it (see bun-compiler.ts). Not reported as an
   * input.
   */
  readonly worker: string;
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
  /** The loader the import asks for (`with { type: 'text' }`: `text`; Bun's metafile names `json`, `toml`, …). */
  readonly loader?: string;
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
