/**
 * The trivial tool of the bench scripts that run in a Node process of their own
 * (bench/node-script.ts): `(i) => ({ sum: i.a + i.b })` as a toolcage tool, and as the file a
 * user writes instead (`bun file.ts`: the input on stdin, the sum on stdout).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const INPUT = { a: 1, b: 2 };

export interface SumFiles {
  readonly dir: string;
  /** The tool, for `toolPath`. */
  readonly tool: string;
  /** The hand-written file, for `bun file.ts`. */
  readonly file: string;
  readonly remove: () => void;
}

/** The tool and the hand-written file in a temp directory the sandbox user can read. */
export function writeSumFiles(): SumFiles {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-bench-sum-'));
  // The sandbox user (nobody, for a root manager) reads the tool and the file.
  chmodSync(dir, 0o755);
  const tool = join(dir, 'sum.ts');
  writeFileSync(tool, 'export default (i: { a: number; b: number }) => ({ sum: i.a + i.b });\n', {
    mode: 0o644,
  });
  const file = join(dir, 'file.ts');
  writeFileSync(
    file,
    'const i = JSON.parse(await Bun.stdin.text());\nconsole.log(JSON.stringify({ sum: i.a + i.b }));\n',
    { mode: 0o644 },
  );
  return { dir, tool, file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * One run of the hand-written file (`command args…`, e.g. `bun file.ts`, with an empty
 * environment): the input on stdin, the sum read from stdout. Resolves with its milliseconds.
 */
export function runFile(
  command: string,
  args: readonly string[],
  user?: { uid: number; gid: number },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, [...args], { env: {}, cwd: tmpdir(), ...user });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + String(chunk)).slice(-500)));
    child.stdin.on('error', () => {});
    child.once('error', reject);
    child.once('close', (code) => {
      if (out.startsWith('{"sum":3}')) resolve(performance.now() - started);
      else reject(new Error(`the hand-written file failed (exit ${code}): ${out}${err}`));
    });
    child.stdin.end(JSON.stringify(INPUT));
  });
}
