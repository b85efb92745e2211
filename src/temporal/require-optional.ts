/**
 * Loading the optional peer dependencies of `toolcage/temporal` (the `@temporalio/*` packages).
 * They are heavy with their native core (docs/temporal.md), so `toolcage` itself never loads them
 * and only applications that use Temporal install them. When one is missing, the error names it.
 */
import { createRequire } from 'node:module';

/** The Temporal SDK version toolcage is built and tested against. */
export const TEMPORAL_SDK_VERSION = '1.24.x';

/** Loads a package by name (throws like Node's `require` when it is missing). */
export type PackageLoader = (name: string) => unknown;

// `require`, resolving from toolcage's own location: the application's node_modules. The
// @temporalio packages are CommonJS; `require` returns their full exports object (an ESM
// `import()` of them would expose only the names cjs-module-lexer can detect).
const requireFromHere: PackageLoader = createRequire(import.meta.url);

/**
 * Loads the optional package `name`, or throws an Error saying which package to install
 * (`npm install @temporalio/worker@1.24.x`) when it is not installed. Any other failure while
 * loading it (a broken install, a native module that does not load) is rethrown with the
 * package named and the original error as `cause`.
 */
export function requireOptional<T>(name: string, load: PackageLoader = requireFromHere): T {
  try {
    return load(name) as T;
  } catch (error) {
    if (isMissing(error, name)) {
      throw new Error(
        `toolcage/temporal needs the package \`${name}\`, which is not installed: ` +
          `run \`npm install ${name}@${TEMPORAL_SDK_VERSION}\` (the @temporalio packages are ` +
          `optional peer dependencies of toolcage)`,
        { cause: error },
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`toolcage/temporal could not load \`${name}\`: ${message}`, { cause: error });
  }
}

// True when the error says that `name` itself was not found (not one of its own dependencies,
// which is a broken install and reported as such).
function isMissing(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && message.includes(`'${name}'`);
}
