import { fileURLToPath } from 'node:url';
import type { Launcher } from '../runtime/launcher.js';
import type { NormalizedOptions } from '../runtime/options.js';
import type { PackageFiles } from '../runtime/package-files.js';
import type { Sandbox } from '../sandbox/types.js';
import { ToolBundler } from './bundler.js';
import { BuildCache } from './cache.js';
import { compileMaskPatterns } from './patterns.js';

/** What of a runtime its bundler shares. */
export interface BundlerParts {
  readonly sandbox: Sandbox;
  readonly bunPath: string;
  readonly bunVersion: () => Promise<string>;
  readonly files: PackageFiles;
  readonly launcher?: Launcher;
}

/** The builder module: builder.ts from src/ (tests), builder.js from dist/ (the package). */
export function builderModule(): string {
  const name = import.meta.url.endsWith('.ts') ? 'builder.ts' : 'builder.js';
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
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
      ...(parts.launcher === undefined ? {} : { launcher: parts.launcher }),
    },
    cache: new BuildCache(options.cacheDir, options.cacheMaxBytes),
    bunVersion: parts.bunVersion,
    matcher: compileMaskPatterns(options.maskPatterns),
  });
}
