/**
 * A bench script run as a user's script would run: in a small Node process of its own, not in
 * the bench's (vite-node, ≈ 140 MB; Node forks the whole process for every child it spawns, so
 * a baseline spawned from there pays for the bench's size). The script and the modules it
 * imports (`./<name>.js`, siblings in bench/) are transpiled without a type-check (tsc checks
 * them with the bench) into a temp directory of their own; the script reaches the package
 * through the root it is given, never through bench/ or src/.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

/** The package's root, the first argument of every script. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A bench/ file by name (`public-api-loop.ts`). */
export function benchFile(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

/**
 * Transpiles `script` and `modules` (bench/ files, imported by the script as `./<name>.js`)
 * into a temp directory, hands `use` the script's path, and removes the directory after.
 */
export async function withScript<T>(
  script: string,
  modules: readonly string[],
  use: (path: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-bench-script-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    for (const file of [script, ...modules]) {
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      writeFileSync(join(dir, basename(file).replace(/\.ts$/, '.js')), outputText);
    }
    return await use(join(dir, basename(script).replace(/\.ts$/, '.js')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a script that prints one JSON line last, with `args` after the package root. */
export function runScriptForJson<T>(
  script: string,
  modules: readonly string[],
  args: readonly string[],
): Promise<T> {
  return withScript(script, modules, async (path) => {
    const { stdout } = await promisify(execFile)(process.execPath, [path, ROOT, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
  });
}
