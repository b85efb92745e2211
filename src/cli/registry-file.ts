/**
 * A registry file: the tools a worker serves (and `toolcage build --registry` compiles), as JSON.
 * Relative paths are relative to the file.
 *
 * ```json
 * {
 *   "tools": { "echo": { "path": "tools/echo.ts", "timeoutMs": 5000, "permissions": { "net": false } } },
 *   "defaults": { "timeoutMs": 60000, "limits": { "memoryMb": 512 } },
 *   "concurrency": 8,
 *   "sandbox": "auto"
 * }
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { normalizeOptions, type ToolRuntimeOptions } from '../runtime/runtime-options.js';

/** The runtime options a registry file may set. */
const KEYS = [
  'tools',
  'defaults',
  'concurrency',
  'maxQueued',
  'prewarm',
  'prewarmIdleMs',
  'sandbox',
  'rootDir',
  'toolRoots',
  'killGraceMs',
  'cacheDir',
  'cacheMaxBytes',
  'maskPatterns',
] as const satisfies readonly (keyof ToolRuntimeOptions)[];

/**
 * Reads and checks a registry file; returns runtime options (`rootDir` defaults to the file's
 * directory). Throws an Error naming the file and what is wrong with it.
 */
export function readRegistryFile(path: string): ToolRuntimeOptions {
  const file = resolve(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(`registry ${file}: ${(error as Error).message}`);
  }
  const fail = (message: string): never => {
    throw new Error(`registry ${file}: ${message}`);
  };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return fail('expected a JSON object with `tools`');
  const record = parsed as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0)
    fail(`unknown key ${unknown.map((k) => `\`${k}\``).join(', ')} (expected ${KEYS.join(', ')})`);
  if (typeof record['tools'] !== 'object' || record['tools'] === null)
    fail('`tools` must be an object of tool definitions by id');
  if (Object.keys(record['tools'] as object).length === 0) fail('`tools` is empty');
  const base = dirname(file);
  const options = {
    ...record,
    rootDir: resolve(base, typeof record['rootDir'] === 'string' ? record['rootDir'] : '.'),
    ...(typeof record['cacheDir'] === 'string'
      ? { cacheDir: resolve(base, record['cacheDir']) }
      : {}),
  } as ToolRuntimeOptions;
  try {
    normalizeOptions(options);
  } catch (error) {
    fail((error as Error).message);
  }
  return options;
}
