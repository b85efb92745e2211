/**
 * `npm start`: runs a handful of real tools through toolcage and prints what happened to each.
 * Sandboxed with bubblewrap when the machine has it; otherwise it says so and runs unsandboxed.
 */
import { fileURLToPath } from 'node:url';
import { formatTable, terminalWidth, type Column } from './cli/table.js';
import { closeOnSignals } from './runtime/close-on-signals.js';
import { createToolRuntime } from './runtime/runtime.js';
import { isToolExecutionError } from './errors/tool-execution-error.js';
import { detectCapabilities } from './sandbox/detect.js';
import type { ExecuteRequest } from './runtime/runtime-options.js';

const fixtures = fileURLToPath(new URL('../tools-fixtures/', import.meta.url));

const DEMO: readonly { readonly title: string; readonly request: ExecuteRequest }[] = [
  { title: 'returns its input', request: { toolPath: 'ok-async.ts', input: { city: 'Lyon' } } },
  { title: 'prints junk on stdout, then returns', request: { toolPath: 'stdout-junk.ts' } },
  { title: 'throws an error', request: { toolPath: 'throws.ts' } },
  { title: 'never returns (deadline 500 ms)', request: { toolPath: 'forever.ts', timeoutMs: 500 } },
  {
    title: 'ignores SIGTERM (deadline 500 ms)',
    request: { toolPath: 'ignores-sigterm.ts', timeoutMs: 500 },
  },
  { title: 'exits with code 3', request: { toolPath: 'crash-exit.ts' } },
  {
    title: 'returns 50 MB (cap 1 MB)',
    request: { toolPath: 'huge-output.ts', limits: { maxOutputBytes: 1_000_000 } },
  },
  {
    title: 'reads a host secret it was not given',
    request: { toolPath: 'env-reader.ts', input: { names: ['SECRET_TOKEN', 'HOME'] } },
  },
  {
    title: 'reads /etc/passwd (not granted)',
    request: { toolPath: 'sandbox-read-outside.ts', input: { path: '/etc/passwd' } },
  },
  {
    title: 'allocates 2 GB (memoryMb 256)',
    request: { toolPath: 'sandbox-alloc-2gb.ts', limits: { memoryMb: 256 } },
  },
];

// The detail is cut to fit the terminal; what each tool does wraps.
const COLUMNS: readonly Column[] = [
  { header: 'tool (tools-fixtures/)', shrink: 'wrap', minWidth: 24 },
  { header: 'outcome' },
  { header: 'ms' },
  { header: 'detail', shrink: 'cut' },
];

async function main(): Promise<void> {
  const capabilities = await detectCapabilities();
  const sandboxed = capabilities.bwrap.works;
  if (!sandboxed) {
    process.stdout.write(
      'bubblewrap is not usable here, so this demo runs UNSANDBOXED (sandbox: none).\n' +
        'Install it to see the sandbox at work: apt-get install bubblewrap\n\n',
    );
  }
  process.env['SECRET_TOKEN'] ??= 'demo-secret-the-tool-must-not-see';
  const runtime = createToolRuntime({
    rootDir: fixtures,
    sandbox: sandboxed ? 'bwrap' : 'none',
    concurrency: 4,
  });
  // Ctrl-C kills the tool under way and removes its sandbox before the demo ends.
  const stopOnSignals = closeOnSignals(runtime);
  const rows: string[][] = [];
  for (const { title, request } of DEMO) {
    try {
      const result = await runtime.executeToolWithTimeout(request);
      const output = JSON.stringify(result.output);
      rows.push([
        `${title} (${request.toolPath ?? ''})`,
        'success',
        String(result.durationMs),
        `${result.outputBytes} B: ${output}`,
      ]);
    } catch (error) {
      if (!isToolExecutionError(error)) throw error;
      rows.push([
        `${title} (${request.toolPath ?? ''})`,
        error.kind,
        String(error.durationMs),
        error.message,
      ]);
    }
  }
  stopOnSignals();
  await runtime.close();
  process.stdout.write(`${formatTable(COLUMNS, rows, { width: terminalWidth() })}\n`);
  process.stdout.write(
    `\nsandbox: ${sandboxed ? 'bubblewrap' : 'none'}; see \`toolcage doctor\` for what this machine enforces.\n`,
  );
}

await main();
