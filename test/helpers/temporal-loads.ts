/**
 * Runs Node with a watch on the Temporal SDK: every load of a `@temporalio/*` module (an ESM
 * resolution, seen by a loader hook, or a CommonJS load, seen through Module._load — how
 * toolcage/temporal loads the SDK) is reported, so a test can assert that nothing loaded one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WATCH = `
import Module, { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  "export async function resolve(s, c, n) { if (s.includes('@temporalio')) process.stderr.write('LOADED ' + s + '\\\\n'); return n(s, c); }"
));
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request.includes('@temporalio')) process.stderr.write('LOADED ' + request + '\\n');
  return load.call(this, request, ...rest);
};
`;

/** What a watched run printed, its exit code, and the `LOADED <specifier>` lines. */
export interface WatchedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly loaded: string[];
}

/** Runs `node --import <watch> ...args` in `cwd`. */
export async function runWatchingTemporal(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<WatchedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tc-watch-'));
  const hook = join(dir, 'watch.mjs');
  writeFileSync(hook, WATCH);
  try {
    return await new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', hook, ...args],
        { cwd, env, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          const loaded = stderr.split('\n').filter((line) => line.startsWith('LOADED '));
          resolve({ code, stdout, stderr, loaded });
        },
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
