/**
 * `toolcage worker`: a Temporal worker serving the tools of a registry file on a task queue,
 * until SIGINT/SIGTERM (then it drains the tools in flight and exits 0). Loaded by the CLI only
 * for this command; the Temporal packages are loaded only once the arguments are good.
 */
import { parseArgs } from 'node:util';
import type { ToolRuntimeOptions } from '../runtime/runtime-options.js';
import type { SandboxMode } from '../sandbox/types.js';
import type * as TemporalExports from '../temporal/index.js';
import { telemetryFromEnv } from '../telemetry/env.js';
import { setupTelemetry } from '../telemetry/setup.js';
import type { TelemetryHandle, TelemetrySetupOptions } from '../telemetry/setup-options.js';
import { sandboxFlag } from './args.js';
import { integerFlag } from './limit-flags.js';
import { readRegistryFile } from './registry-file.js';

type TemporalModule = typeof TemporalExports;

export const WORKER_USAGE = `Usage:
  toolcage worker --task-queue NAME --registry FILE [--address HOST:PORT] [--namespace NAME]
                  [--concurrency N] [--sandbox auto|bwrap|none] [--prometheus-port N]
                  [--metrics-prefix PREFIX]

Serves the activity \`executeTool\` on the task queue for the tools of FILE (JSON:
{ "tools": { "<id>": { "path": "…", … } }, "defaults": {…}, "concurrency": N }), with
at most N tools at once (Temporal's activity slots). SIGINT/SIGTERM/SIGHUP: stop polling, let the
tools in flight finish (30 s, then they are cancelled), exit.
  --address          the Temporal frontend (default $TEMPORAL_ADDRESS, else localhost:7233)
  --namespace        default $TEMPORAL_NAMESPACE, else default
  --concurrency      tools at once (default: the registry's, else 8)
  --prometheus-port  serve /metrics on 127.0.0.1:N (runtime and workflow metrics)
Telemetry: OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables) push metrics and traces.
Exit status: 0 after a shutdown, 1 the worker failed, 2 usage error.`;

const OPTIONS = {
  'task-queue': { type: 'string' },
  registry: { type: 'string' },
  address: { type: 'string' },
  namespace: { type: 'string' },
  concurrency: { type: 'string' },
  sandbox: { type: 'string' },
  'prometheus-port': { type: 'string' },
  'metrics-prefix': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A parsed `toolcage worker` command line. */
export interface WorkerCommand {
  readonly taskQueue: string;
  readonly registry: string;
  readonly address: string;
  readonly namespace: string;
  readonly concurrency: number | undefined;
  readonly sandbox: SandboxMode | undefined;
  readonly prometheusPort: number | undefined;
  readonly metricsPrefix: string | undefined;
}

/** Parses the arguments after `worker`; 'help' for --help. Throws an Error on misuse. */
export function parseWorkerArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkerCommand | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new Error(`unexpected argument \`${positionals.join(' ')}\``);
  const taskQueue = values['task-queue'];
  if (taskQueue === undefined || taskQueue === '') throw new Error('--task-queue is required');
  const registry = values.registry;
  if (registry === undefined || registry === '') throw new Error('--registry is required');
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const integer = (flag: 'concurrency' | 'prometheus-port', allowZero = false) =>
    integerFlag(flag, values[flag], fail, allowZero);
  const sandbox = sandboxFlag(values.sandbox, fail);
  return {
    taskQueue,
    registry,
    address: values.address ?? nonEmpty(env['TEMPORAL_ADDRESS']) ?? 'localhost:7233',
    namespace: values.namespace ?? nonEmpty(env['TEMPORAL_NAMESPACE']) ?? 'default',
    concurrency: integer('concurrency'),
    sandbox,
    prometheusPort: integer('prometheus-port', true),
    metricsPrefix: values['metrics-prefix'],
  };
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;

/** Runs `toolcage worker …`; resolves to the exit status. */
export async function workerCommand(argv: readonly string[]): Promise<number> {
  let command: WorkerCommand | 'help';
  let runtimeOptions: ToolRuntimeOptions;
  try {
    command = parseWorkerArgs(argv);
    if (command === 'help') {
      process.stdout.write(`${WORKER_USAGE}\n`);
      return 0;
    }
    runtimeOptions = readRegistryFile(command.registry);
  } catch (error) {
    process.stderr.write(`toolcage worker: ${(error as Error).message}\n\n${WORKER_USAGE}\n`);
    return 2;
  }

  let temporal: TemporalModule;
  try {
    temporal = await import('../temporal/index.js');
  } catch (error) {
    process.stderr.write(`toolcage worker: ${(error as Error).message}\n`);
    return 1;
  }
  const telemetry = await startTelemetry(command.prometheusPort);
  try {
    const worker = await temporal.createToolWorker(
      workerOptions(command, runtimeOptions, telemetry),
    );
    process.stderr.write(servingMessage(command, runtimeOptions, worker, telemetry));
    await runUntilShutdown(worker);
    process.stderr.write('toolcage worker: stopped\n');
    return 0;
  } catch (error) {
    process.stderr.write(`toolcage worker: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await telemetry?.shutdown();
  }
}

// The OTEL_* variables' telemetry, with a Prometheus endpoint on `prometheusPort`; undefined
// when neither asks for any.
async function startTelemetry(
  prometheusPort: number | undefined,
): Promise<TelemetryHandle | undefined> {
  const telemetryOptions: TelemetrySetupOptions | undefined =
    prometheusPort === undefined
      ? telemetryFromEnv()
      : { ...telemetryFromEnv(), prometheus: { port: prometheusPort } };
  return telemetryOptions === undefined ? undefined : setupTelemetry(telemetryOptions);
}

// The worker's options: the registry's runtime options under the command line's overrides.
function workerOptions(
  command: WorkerCommand,
  runtimeOptions: ToolRuntimeOptions,
  telemetry: TelemetryHandle | undefined,
): TemporalExports.ToolWorkerOptions {
  return {
    taskQueue: command.taskQueue,
    address: command.address,
    namespace: command.namespace,
    runtimeOptions: {
      ...runtimeOptions,
      ...(command.concurrency === undefined ? {} : { concurrency: command.concurrency }),
      ...(command.sandbox === undefined ? {} : { sandbox: command.sandbox }),
    },
    ...(telemetry === undefined
      ? {}
      : { meterProvider: telemetry.meterProvider, tracerProvider: telemetry.tracerProvider }),
    ...(command.metricsPrefix === undefined ? {} : { metricsPrefix: command.metricsPrefix }),
  };
}

// The line saying what the worker serves, where, and where its metrics are.
function servingMessage(
  command: WorkerCommand,
  runtimeOptions: ToolRuntimeOptions,
  worker: TemporalExports.ToolWorker,
  telemetry: TelemetryHandle | undefined,
): string {
  const tools = Object.keys(runtimeOptions.tools ?? {});
  return (
    `toolcage worker: serving task queue \`${command.taskQueue}\` on ${command.address} ` +
    `(namespace ${command.namespace}), ${worker.runtime.settings.concurrency} at once, ` +
    `${tools.length} tool${tools.length === 1 ? '' : 's'}: ${tools.join(', ')}` +
    `${telemetry?.prometheusUrl === undefined ? '' : `; metrics at ${telemetry.prometheusUrl}`}\n`
  );
}

// Runs the worker until it is shut down, then waits for its shutdown to complete.
async function runUntilShutdown(worker: TemporalExports.ToolWorker): Promise<void> {
  // Temporal's runtime shuts its workers down on SIGINT, SIGTERM, SIGQUIT and SIGUSR2; a
  // hang-up (a closed terminal) drains the same way instead of ending the process at once.
  const onHangup = (): void => void worker.shutdown();
  process.once('SIGHUP', onHangup);
  try {
    await worker.run();
  } finally {
    process.off('SIGHUP', onHangup);
    await worker.shutdown();
  }
}
