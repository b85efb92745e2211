#!/usr/bin/env node
/**
 * The `toolcage` command: argv → one runtime call → an exit status (0 success, 1 the tool
 * failed, 2 usage, 128 + n stopped by signal n). Telemetry is pushed when the OTEL_* variables
 * ask for it, and flushed before exit (bounded: see cli/run-telemetry.ts). SIGINT, SIGTERM
 * and SIGHUP close the runtime (the tool is killed, its sandbox removed) before it exits.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, resolve } from 'node:path';
import { BuildCache, defaultCacheDir, renderCacheUsage } from './bundling/cache.js';
import { parseCommandLine, USAGE, UsageError, type Command } from './cli/args.js';
import { buildCommand } from './cli/build.js';
import { renderDoctor } from './cli/doctor.js';
import { terminalWidth } from './cli/table.js';
import { isToolExecutionError, type ToolExecutionError } from './errors/tool-execution-error.js';
import { closeOnSignals } from './runtime/close-on-signals.js';
import type {
  ExecuteRequest,
  ExecuteResult,
  ToolRuntimeOptions,
} from './runtime/runtime-options.js';
import { createToolRuntime } from './runtime/runtime.js';
import { inspectSandbox } from './sandbox/sandbox-user.js';
import type { DoctorIdentity } from './sandbox/doctor-rows.js';
import { packageFiles } from './runtime/package-files.js';
import { probeEgress } from './sandbox/egress-probe.js';
import { resolveBunBinary } from './runtime/bun-binary.js';
import { telemetryFromEnv } from './telemetry/env.js';
import type { TelemetryHandle } from './telemetry/setup-options.js';
import { startRunTelemetry } from './cli/run-telemetry.js';

type RunCommand = Extract<Command, { command: 'run' }>;

async function run(command: RunCommand): Promise<number> {
  const telemetryOptions = telemetryFromEnv();
  if (telemetryOptions === undefined) return runTool(command, undefined);
  const telemetry = await startRunTelemetry(telemetryOptions);
  let code = 1;
  try {
    code = await runTool(command, telemetry.handle);
  } finally {
    await telemetry.end();
  }
  // Exports cut off by the bound would go on retrying on their timers, and nothing else is left
  // (the runtime is closed). stdout and stderr are written synchronously on Linux (files,
  // pipes, terminals): ending now loses nothing.
  process.exit(code);
}

async function runTool(
  command: RunCommand,
  telemetry: Pick<TelemetryHandle, 'meterProvider' | 'tracerProvider'> | undefined,
): Promise<number> {
  const file = resolve(command.file);
  const runtime = createToolRuntime(runtimeOptions(command, file, telemetry));
  // The run ends as cancelled; its output is still written, then the status says which signal.
  let stoppedBy: NodeJS.Signals | undefined;
  const stopOnSignals = closeOnSignals(runtime, {
    reraise: false,
    onSignal: (signal) => (stoppedBy ??= signal),
  });
  const started = performance.now();
  try {
    const result = await runtime.executeToolWithTimeout(runRequest(command, file));
    writeResult(command, result);
    return 0;
  } catch (error) {
    if (!isToolExecutionError(error)) throw error;
    writeFailure(command, error, started);
    return stoppedBy === undefined ? 1 : 128 + constants.signals[stoppedBy];
  } finally {
    stopOnSignals();
    await runtime.close();
  }
}

// A runtime for the one tool `file`, one call at a time, under the command line's defaults.
function runtimeOptions(
  command: RunCommand,
  file: string,
  telemetry: Pick<TelemetryHandle, 'meterProvider' | 'tracerProvider'> | undefined,
): ToolRuntimeOptions {
  return {
    rootDir: dirname(file),
    toolRoots: [dirname(file)],
    sandbox: command.sandbox,
    network: command.network,
    concurrency: 1,
    defaults: {
      timeoutMs: command.timeoutMs,
      permissions: command.permissions,
      limits: command.limits,
    },
    ...(telemetry === undefined
      ? {}
      : { meterProvider: telemetry.meterProvider, tracerProvider: telemetry.tracerProvider }),
  };
}

// The call of `file`; without --json its log lines go to stderr as they come.
function runRequest(command: RunCommand, file: string): ExecuteRequest {
  return {
    toolPath: file,
    ...(command.exportName === undefined ? {} : { exportName: command.exportName }),
    input: command.input,
    config: command.config,
    env: command.env,
    ...(command.json
      ? {}
      : { onLog: (_stream: string, line: string) => process.stderr.write(`${line}\n`) }),
  };
}

// The tool's output on stdout: a JSON line with --json, else the string or indented JSON.
function writeResult(command: RunCommand, result: ExecuteResult): void {
  if (command.json) {
    const { output, durationMs, exitCode, outputBytes, enforcement } = result;
    writeJson({ ok: true, output, durationMs, exitCode, outputBytes, enforcement });
  } else {
    process.stdout.write(
      typeof result.output === 'string'
        ? `${result.output}\n`
        : `${JSON.stringify(result.output, null, 2)}\n`,
    );
  }
}

// The failure: a JSON line on stdout with --json (timed from `started` if it has no duration),
// else its kind and message on stderr.
function writeFailure(command: RunCommand, error: ToolExecutionError, started: number): void {
  if (command.json) {
    writeJson({
      ok: false,
      error: error.toJSON(),
      durationMs: error.durationMs || Math.round(performance.now() - started),
    });
  } else {
    process.stderr.write(`toolcage: ${error.kind}: ${error.message}\n`);
  }
}

function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function version(): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

async function main(argv: readonly string[]): Promise<number> {
  // `worker` lives in its own module, loaded (with the Temporal packages) only for it.
  if (argv[0] === 'worker')
    return (await import('./cli/worker-command.js')).workerCommand(argv.slice(1));
  try {
    return await dispatch(parseCommandLine(argv));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.json)
      writeJson({
        ok: false,
        error: { kind: 'invalid_request', message: `usage: ${error.message}` },
      });
    process.stderr.write(`toolcage: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
}

async function dispatch(command: Command): Promise<number> {
  switch (command.command) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'doctor': {
      const { caps: capabilities, identity } = await inspectSandbox();
      const files = packageFiles();
      const who: DoctorIdentity = {
        identity,
        paths: [
          { path: resolveBunBinary(), need: 'exec' },
          { path: files.worker, need: 'read' },
          { path: files.bunfig, need: 'read' },
          { path: defaultCacheDir(), need: 'exec' },
        ],
      };
      const egress = await probeEgress({
        bwrapPath: capabilities.bwrap.works ? capabilities.bwrap.path : undefined,
        bunPath: resolveBunBinary(),
        userNamespace: capabilities.userNamespaces.available,
      });
      const cache = new BuildCache(defaultCacheDir()).usage();
      process.stdout.write(
        command.json
          ? `${JSON.stringify({ ...capabilities, sandboxUser: identity, egress, cache })}\n`
          : `${renderDoctor(capabilities, { width: terminalWidth(), egress, who })}\n${renderCacheUsage(cache)}\n`,
      );
      return 0;
    }
    case 'build':
      return buildCommand(command);
    case 'run':
      return run(command);
    default:
      return command satisfies never;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `toolcage: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
