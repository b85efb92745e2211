import { fileURLToPath } from 'node:url';
import type { Launcher } from './launcher-client.js';
import type { NormalizedOptions } from './runtime-options.js';
import type { PackageFiles } from './package-files.js';
import type { LaunchPlan, Sandbox } from '../sandbox/types.js';
import type { CompilerOutcome, CompilerProcess } from '../bundling/run-compiler.js';
import { runProcess } from './run-process.js';
import { spawnPlan } from './spawn.js';
import { ToolBundler } from '../bundling/bundler.js';
import { BuildCache } from '../bundling/cache.js';
import { compileMaskPatterns } from '../bundling/secret-patterns.js';

/** What of a runtime its bundler shares. */
export interface BundlerParts {
  readonly sandbox: Sandbox;
  readonly bunPath: string;
  readonly bunVersion: () => Promise<string>;
  readonly files: PackageFiles;
  readonly launcher?: Launcher;
}

/** The Bun-side compiler: bun-compiler.ts from src/ (tests), .js from dist/ (the package). */
export function builderModule(): string {
  const name = import.meta.url.endsWith('.ts') ? 'bun-compiler.ts' : 'bun-compiler.js';
  return fileURLToPath(new URL(`../bundling/${name}`, import.meta.url));
}

/** The bundler of one runtime: its cache, its masks, and builds run like tools. */
export function createBundler(options: NormalizedOptions, parts: BundlerParts): ToolBundler {
  const builder = builderModule();
  const { worker, workerModule, bunfig, workerDir } = parts.files;
  return new ToolBundler({
    host: {
      sandbox: parts.sandbox,
      mode: options.sandbox,
      bunPath: parts.bunPath,
      // As for tools (see runtime.ts), and --no-macros: the builder's own imports run no macro.
      bunArgs: ['--no-install', '--no-env-file', '--no-macros', `--config=${bunfig}`, worker],
      worker: workerModule,
      runtimeFiles: [worker, bunfig, workerDir, builder],
      builder,
      run: (plan, process) => runCompiler(plan, process, parts.launcher),
    },
    cache: new BuildCache(options.cacheDir, options.cacheMaxBytes),
    bunVersion: parts.bunVersion,
    matcher: compileMaskPatterns(options.maskPatterns),
  });
}

// The compiler's process, started and driven as a tool's is (the worker calls its `default`).
async function runCompiler(
  plan: LaunchPlan,
  process: CompilerProcess,
  launcher: Launcher | undefined,
): Promise<CompilerOutcome> {
  const child = await spawnPlan(plan, launcher);
  const { verdict, logs } = await runProcess(child, plan, {
    toolId: process.toolId,
    request: {
      executionId: process.executionId,
      toolId: process.toolId,
      toolPath: process.entry,
      exportName: 'default',
      env: {},
      input: process.input,
      config: {},
    },
    timeoutMs: process.timeoutMs,
    maxOutputBytes: process.maxOutputBytes,
    maxLogBytes: process.maxLogBytes,
    killGraceMs: 0,
    signal: process.signal,
    onLog: undefined,
    explain: process.explain,
  });
  return { verdict, logs };
}
