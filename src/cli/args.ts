import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { NetworkOptions } from '../network/options.js';
import type { Limits, Permissions, SandboxMode } from '../sandbox/types.js';
import { networkOptions, takeAllowNet } from './network-args.js';

/** A parsed `toolcage` command line. */
export type Command =
  | { readonly command: 'help' }
  | { readonly command: 'version' }
  | { readonly command: 'doctor'; readonly json: boolean }
  | {
      readonly command: 'build';
      /** Tool files, or nothing with `registry`. */
      readonly files: readonly string[];
      /** A JSON registry (`{ "tools": { id: { path, … } } }`), paths relative to its directory. */
      readonly registry: string | undefined;
      /** The registry's, else `auto`, when not given. */
      readonly sandbox: SandboxMode | undefined;
      readonly json: boolean;
    }
  | {
      readonly command: 'run';
      readonly file: string;
      readonly exportName: string | undefined;
      readonly input: unknown;
      readonly config: unknown;
      readonly env: Record<string, string>;
      readonly timeoutMs: number;
      readonly permissions: Permissions;
      readonly limits: Limits;
      readonly network: NetworkOptions;
      readonly sandbox: SandboxMode;
      readonly json: boolean;
    };

/** A usage error: exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly json: boolean,
  ) {
    super(message);
  }
}

export const USAGE = `Usage:
  toolcage run <tool-file> [--export NAME] [--input JSON | --input-file FILE] [--config JSON]
               [--timeout-ms N] [--allow-read P]... [--allow-write P]... [--allow-net[=HOSTS]]
               [--host NAME=ADDRESS]... [--allow-private-addresses]
               [--allow-env NAME]... [--allow-run] [--env NAME=VALUE]...
               [--memory-mb N] [--cpu-seconds N] [--max-processes N] [--max-file-size-mb N]
               [--tmp-mb N] [--max-output-bytes N] [--max-connections N] [--max-network-mb N]
               [--sandbox auto|bwrap|none] [--json]
  toolcage build <tool-file>... | --registry FILE [--sandbox auto|bwrap|none] [--json]
                               compile tools ahead of their calls (for images and CI)
  toolcage doctor [--json]     what this machine can enforce, and the build cache
  toolcage worker --task-queue NAME --registry FILE [--address HOST:PORT] [--namespace NAME]
                  [--concurrency N] [...]   a Temporal worker (toolcage worker --help)
  toolcage --help | --version

Exit status: 0 success, 1 the tool failed (the error kind says why), 2 usage error,
128 + n stopped by signal n (SIGINT, SIGTERM, SIGHUP: the tool is killed and cleaned up first).
Telemetry: set OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables) to push metrics and traces.`;

const RUN_OPTIONS = {
  export: { type: 'string' },
  input: { type: 'string' },
  'input-file': { type: 'string' },
  config: { type: 'string' },
  env: { type: 'string', multiple: true },
  'timeout-ms': { type: 'string' },
  'allow-read': { type: 'string', multiple: true },
  'allow-write': { type: 'string', multiple: true },
  host: { type: 'string', multiple: true },
  'allow-private-addresses': { type: 'boolean' },
  'allow-env': { type: 'string', multiple: true },
  'allow-run': { type: 'boolean' },
  'memory-mb': { type: 'string' },
  'cpu-seconds': { type: 'string' },
  'max-processes': { type: 'string' },
  'max-file-size-mb': { type: 'string' },
  'tmp-mb': { type: 'string' },
  'max-output-bytes': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-network-mb': { type: 'string' },
  sandbox: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Parses argv (without node and the script). Throws UsageError. */
export function parseCommandLine(argv: readonly string[]): Command {
  const json = argv.includes('--json');
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help')
    return { command: 'help' };
  if (command === '--version' || command === '-v') return { command: 'version' };
  if (command === 'doctor') {
    const unknown = rest.filter((arg) => arg !== '--json');
    if (unknown.length > 0)
      throw new UsageError(
        `doctor takes no arguments but --json, got \`${unknown.join(' ')}\``,
        json,
      );
    return { command: 'doctor', json };
  }
  if (command === 'build') return parseBuild(rest, json);
  if (command !== 'run')
    throw new UsageError(
      `unknown command \`${command}\` (expected run, build, doctor or worker)`,
      json,
    );

  const fail = (message: string): never => {
    throw new UsageError(message, json);
  };
  const allowNet = takeAllowNet(rest, fail);
  let parsed;
  try {
    parsed = parseArgs({
      args: allowNet.rest,
      options: RUN_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, json);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'missing <tool-file>'
        : `expected one <tool-file>, got ${positionals.join(' ')}`,
      json,
    );
  }
  if (values.input !== undefined && values['input-file'] !== undefined)
    fail('give --input or --input-file, not both');
  const inputText =
    values['input-file'] !== undefined ? readInputFile(values['input-file'], fail) : values.input;
  const input = inputText === undefined ? null : parseJson('--input', inputText, fail);
  const config = values.config === undefined ? {} : parseJson('--config', values.config, fail);
  const sandbox = values.sandbox ?? 'auto';
  if (sandbox !== 'auto' && sandbox !== 'bwrap' && sandbox !== 'none') {
    return fail(`--sandbox must be auto, bwrap or none, got \`${sandbox}\``);
  }
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail(`--env expects NAME=VALUE, got \`${pair}\``);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const integer = (flag: keyof typeof values): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    if (typeof text !== 'string' || !/^[1-9][0-9]*$/.test(text))
      fail(`--${flag} expects a positive integer, got \`${String(text)}\``);
    return Number(text);
  };
  const list = (items: readonly string[] | undefined): string[] =>
    (items ?? []).flatMap((item) => item.split(',')).filter((item) => item !== '');
  const limits: Record<string, number> = {};
  const limitFlags = [
    ['memory-mb', 'memoryMb'],
    ['cpu-seconds', 'cpuSeconds'],
    ['max-processes', 'maxProcesses'],
    ['max-file-size-mb', 'maxFileSizeMb'],
    ['tmp-mb', 'tmpMb'],
    ['max-output-bytes', 'maxOutputBytes'],
    ['max-connections', 'maxConnections'],
    ['max-network-mb', 'maxNetworkMb'],
  ] as const;
  for (const [flag, key] of limitFlags) {
    const value = integer(flag);
    if (value !== undefined) limits[key] = value;
  }
  return {
    command: 'run',
    file: positionals[0]!,
    exportName: values.export,
    input,
    config,
    env,
    timeoutMs: integer('timeout-ms') ?? 60_000,
    permissions: {
      read: list(values['allow-read']),
      write: list(values['allow-write']),
      net: allowNet.net,
      env: list(values['allow-env']),
      run: values['allow-run'] ?? false,
    },
    limits: limits,
    network: networkOptions(values.host, values['allow-private-addresses'], fail),
    sandbox,
    json: values.json ?? false,
  };
}

function parseBuild(rest: readonly string[], json: boolean): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {
        registry: { type: 'string' },
        sandbox: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, json);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0 === (values.registry !== undefined))
    throw new UsageError('build takes <tool-file>... or --registry FILE (one of the two)', json);
  const sandbox = values.sandbox;
  if (sandbox !== undefined && sandbox !== 'auto' && sandbox !== 'bwrap' && sandbox !== 'none') {
    throw new UsageError(`--sandbox must be auto, bwrap or none, got \`${sandbox}\``, json);
  }
  return { command: 'build', files: positionals, registry: values.registry, sandbox, json };
}

function parseJson(flag: string, text: string, fail: (message: string) => never): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return fail(`${flag} is not valid JSON: ${(error as Error).message}`);
  }
}

function readInputFile(path: string, fail: (message: string) => never): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return fail(`--input-file: cannot read ${path}: ${(error as Error).message}`);
  }
}
