import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** A command the bare baselines spawn: `bun … bare-worker.ts`, optionally wrapped in bwrap. */
export interface BareCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Descriptors passed from fd 4 on (a sandbox's seccomp program). */
  readonly extraFds?: readonly number[];
}

/**
 * One bare execution: the same process work as toolcage's (stdio pipes, the request on stdin,
 * the result read from fd 3, logs drained) and nothing of toolcage (no validation, queue,
 * deadline, classification, telemetry). Resolves when the process has exited and its pipes
 * have closed, like toolcage's promise.
 */
export function runBare(command: BareCommand, requestLine: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, [...command.args], {
      cwd: command.cwd,
      env: { ...command.env },
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', ...(command.extraFds ?? [])],
    });
    const chunks: Buffer[] = [];
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout?.resume();
    child.stderr?.resume();
    child.stdin?.on('error', () => {});
    child.once('error', reject);
    child.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.startsWith('{"type":"result"')) resolve();
      else reject(new Error(`the bare baseline failed: ${text.slice(0, 200) || '(no result)'}`));
    });
    child.stdin?.write(requestLine);
  });
}

/**
 * One run of a hand-written script (bench/handwritten.ts): the input on stdin, then its end; the
 * result read from stdout. Resolves when the process has exited and its pipes have closed.
 */
export function runHandwritten(command: BareCommand, input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, [...command.args], {
      cwd: command.cwd,
      env: { ...command.env },
      // fd 3 unused (a sandbox's descriptors start at 4, as toolcage passes them).
      stdio: ['pipe', 'pipe', 'pipe', 'ignore', ...(command.extraFds ?? [])],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-500)));
    child.stdin?.on('error', () => {});
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.startsWith('{"echo":')) resolve();
      else {
        const why = `exit ${code ?? signal}: ${text.slice(0, 200) || '(no output)'} ${stderr}`;
        reject(new Error(`the hand-written baseline failed (${why})`));
      }
    });
    child.stdin?.end(input);
  });
}
