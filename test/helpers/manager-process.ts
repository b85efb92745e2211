/**
 * A manager in a process of its own, for the tests that stop one (run with vite-node, from
 * src/): a runtime over the fixtures runs one tool and reports on stdout, one line each,
 * `owner <tag>` (how toolcage names what this process makes), `ready` (the tool said so on
 * stderr) and `result <json>` or `error <kind>`.
 *
 *   manager-process.ts <sandbox mode> <tool file> [<input json>] [--close-on-signals | --exit]
 *
 * With `--exit` it ends without closing its runtime, once the call's teardown had time to
 * finish (what an execution leaves is removed in the background, after it settled).
 */
import { fileURLToPath } from 'node:url';
import { closeOnSignals } from '../../src/runtime/close-on-signals.js';
import { createToolRuntime } from '../../src/runtime/runtime.js';
import { ownerTag } from '../../src/sandbox/owner.js';
import type { SandboxMode } from '../../src/sandbox/types.js';

// vite-node (which runs this file from src/) starts a vite server that listens for SIGTERM and
// then exits at once (process.exit(143)); a manager is a plain Node process, without it.
process.removeAllListeners('SIGTERM');

const [mode, toolPath, input, flag] = process.argv.slice(2);
const runtime = createToolRuntime({
  rootDir: fileURLToPath(new URL('../../tools-fixtures/', import.meta.url)),
  sandbox: mode as SandboxMode,
  telemetry: false,
});
if (flag === '--close-on-signals' || input === '--close-on-signals') closeOnSignals(runtime);
process.stdout.write(`owner ${ownerTag()}\n`);
try {
  const result = await runtime.executeToolWithTimeout({
    toolPath: toolPath!,
    input: input === undefined || input.startsWith('--') ? null : (JSON.parse(input) as unknown),
    timeoutMs: 120_000,
    onLog: (_stream, line) => {
      if (line === 'ready') process.stdout.write('ready\n');
    },
  });
  process.stdout.write(`result ${JSON.stringify(result.output)}\n`);
} catch (error) {
  process.stdout.write(`error ${(error as { kind: string }).kind}\n`);
}
if (flag === '--exit' || input === '--exit') {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  process.exit(0);
}
await runtime.close();
