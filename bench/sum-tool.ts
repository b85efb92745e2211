/**
 * The trivial tool of the bench scripts that run in a Node process of their own
 * (bench/node-script.ts): `(i) => ({ sum: i.a + i.b })` as a toolcage tool, and as the file a
 * user writes instead (`bun file.ts`: the input on stdin, the sum on stdout).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDist } from './from-dist.js';
import type { resolveBunBinary as ResolveBunBinary } from '../src/runtime/bun-binary.js';
import type { detectCapabilities as DetectCapabilities } from '../src/sandbox/detect.js';
import type {
  resolveSandboxIdentity as ResolveSandboxIdentity,
  SandboxIdentity,
} from '../src/sandbox/identity.js';

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

/** What the hand-written baselines run with, from the built package under `root`. */
export interface Baselines {
  readonly bun: string;
  /** bwrap, where it works here. */
  readonly bwrap: string | undefined;
  /** The sandbox's user (a root manager's `nobody`), whom the sandboxed baseline runs as. */
  readonly user: SandboxIdentity;
}

export async function baselines(root: string): Promise<Baselines> {
  const { resolveBunBinary } = await fromDist<{ resolveBunBinary: typeof ResolveBunBinary }>(
    root,
    'runtime/bun-binary.js',
  );
  const { detectCapabilities } = await fromDist<{
    detectCapabilities: typeof DetectCapabilities;
  }>(root, 'sandbox/detect.js');
  const { resolveSandboxIdentity } = await fromDist<{
    resolveSandboxIdentity: typeof ResolveSandboxIdentity;
  }>(root, 'sandbox/identity.js');
  const caps = await detectCapabilities();
  return {
    bun: resolveBunBinary(),
    bwrap: caps.bwrap.works ? caps.bwrap.path : undefined,
    user: resolveSandboxIdentity(undefined),
  };
}

/** bwrap's arguments for the hand-written sandboxed baseline: `bwrap --ro-bind / / … bun file.ts`. */
export function handWrittenBwrapArgs(bun: string, file: string): string[] {
  return [
    ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'],
    ...['--unshare-all', '--die-with-parent', '--new-session', bun, file],
  ];
}

/**
 * bwrap's arguments for the least sandbox it makes: a user and a mount namespace and nothing else
 * (`bwrap --ro-bind / / --unshare-user … bun file.ts`, the host's whole tree in view). What one
 * sandbox per call costs before any wall that keeps a tool from the network or the host's
 * processes: the floor under the throughput of every runtime that gives each call a sandbox.
 */
export function leastBwrapArgs(bun: string, file: string): string[] {
  return ['--ro-bind', '/', '/', '--unshare-user', '--die-with-parent', '--new-session', bun, file];
}
