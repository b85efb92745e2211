import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resolveBunBinary } from '../src/runtime/bun-binary.js';
import type { ToolRuntime } from '../src/runtime/runtime.js';
import { createToolRuntime } from './toolcage.js';
import type { ToolRuntimeOptions } from '../src/runtime/runtime-options.js';
import type { BareCommand } from './bare.js';

/** What every case shares: paths, the Bun binary, runtime and baseline factories. */
export const FIXTURES = fileURLToPath(new URL('../tools-fixtures/', import.meta.url));
export const TRIVIAL_TOOL = `${FIXTURES}ok-sync.ts`;
export const BARE_SCRIPT = fileURLToPath(new URL('./bare-worker.ts', import.meta.url));
export const BUNFIG = fileURLToPath(new URL('../bunfig.toml', import.meta.url));
export const BUN = resolveBunBinary();

/** Bun's flags as toolcage passes them (see src/runtime/runtime.ts), then the bare script. */
export const BARE_BUN_ARGS = ['--no-install', '--no-env-file', `--config=${BUNFIG}`, BARE_SCRIPT];

/** The request line of the bare script: the same tool and input as toolcage's calls. */
export const BARE_REQUEST = `${JSON.stringify({ toolPath: TRIVIAL_TOOL, input: { n: 1 } })}\n`;

/** `bun bare-worker.ts` with an empty environment, as a careful caller would spawn it. */
export const BARE_BUN: BareCommand = { file: BUN, args: BARE_BUN_ARGS, env: {}, cwd: tmpdir() };

/** A runtime over the fixtures with the trivial tool registered as `trivial`. */
export function benchRuntime(options: ToolRuntimeOptions = {}): ToolRuntime {
  return createToolRuntime({
    rootDir: FIXTURES,
    sandbox: 'none',
    telemetry: false,
    tools: { trivial: { path: 'ok-sync.ts' } },
    ...options,
  });
}

/** One trivial execution. */
export async function trivial(runtime: ToolRuntime): Promise<void> {
  await runtime.executeToolWithTimeout({ toolId: 'trivial', input: { n: 1 } });
}

/** What a case gives: rows of the results table, and optionally a section of its own. */
export interface CaseResult {
  readonly rows: Row[];
  /** Markdown for RESULTS.md, after the table. */
  readonly section?: string;
}

/** A row of the results table. */
export interface Row {
  readonly figure: string;
  readonly measured: string;
  readonly baseline: string;
  /** Ratio or excess the target is about; undefined when not measured. */
  readonly value: string;
  readonly target: string;
  /** undefined: not measured here (the reason is in `measured`). */
  readonly pass: boolean | undefined;
}

export function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

/** Resolves once `check` holds (polled every ms), or rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('the bench waited too long for a condition');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
