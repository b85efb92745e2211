import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { NetworkOptions } from '../network/network-options.js';
import type { Limits, Permissions, SandboxMode } from '../sandbox/types.js';
import { integerFlag, limitsOf, type Fail } from './limit-flags.js';

export type { Fail };
import { networkOptions, takeAllowNet, takeAllowPrivateAddresses } from './network-args.js';

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
      /** Each tool's inputs and bundle path too, not one line per tool. */
      readonly verbose: boolean;
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
               [--host NAME=ADDRESS]... [--allow-private-addresses[=BLOCKS]]
               [--allow-env NAME]... [--allow-run] [--env NAME=VALUE]...
               [--memory-mb N] [--cpu-seconds N] [--max-processes N] [--max-file-size-mb N]
               [--tmp-mb N] [--max-output-bytes N] [--max-connections N] [--max-network-mb N]
               [--max-open-files N] [--cpus N] [--sandbox auto|bwrap|none] [--json]
  toolcage build <tool-file>... | --registry FILE [--sandbox auto|bwrap|none] [--verbose] [--json]
                               compile tools ahead of their calls (for images and CI); one line
                               per tool, its inputs and bundle with --verbose
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
  'max-open-files': { type: 'string' },
  cpus: { type: 'string' },
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
  if (command === 'doctor') return parseDoctor(rest, json);
  if (command === 'build') return parseBuild(rest, json);
  if (command !== 'run')
    throw new UsageError(
      `unknown command \`${command}\` (expected run, build, doctor or worker)`,
      json,
    );
  return parseRun(rest, json);
}

/** Reports a usage error; never returns. */
type RunValues = ReturnType<typeof parseRunFlags>['values'];

function parseDoctor(rest: readonly string[], json: boolean): Command {
  const unknown = rest.filter((arg) => arg !== '--json');
  if (unknown.length > 0)
    throw new UsageError(
      `doctor takes no arguments but --json, got \`${unknown.join(' ')}\``,
      json,
    );
  return { command: 'doctor', json };
}

// `run <tool-file> [flags]`: each flag checked in the order the usage lists them.
function parseRun(rest: readonly string[], json: boolean): Command {
  const fail: Fail = (message) => {
    throw new UsageError(message, json);
  };
  const { values, file, net, privateAddresses } = parseRunFlags(rest, fail);
  const input = inputOf(values, fail);
  const config = values.config === undefined ? {} : parseJson('--config', values.config, fail);
  const sandbox = sandboxFlag(values.sandbox, fail) ?? 'auto';
  const env = envOf(values.env, fail);
  const limits = limitsOf(values, fail);
  return {
    command: 'run',
    file,
    exportName: values.export,
    input,
    config,
    env,
    timeoutMs: integerFlag('timeout-ms', values['timeout-ms'], fail) ?? 60_000,
    permissions: permissionsOf(values, net),
    limits,
    network: networkOptions(values.host, privateAddresses, fail),
    sandbox,
    json: values.json ?? false,
  };
}

// `--allow-net[=HOSTS]` and `--allow-private-addresses[=BLOCKS]` (network-args.ts), then
// node:util's parser (strict: an unknown flag is an error), and exactly one <tool-file>.
function parseRunFlags(rest: readonly string[], fail: Fail) {
  const allowNet = takeAllowNet(rest, fail);
  const allowPrivate = takeAllowPrivateAddresses(allowNet.rest, fail);
  let parsed;
  try {
    parsed = parseArgs({
      args: allowPrivate.rest,
      options: RUN_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [file] = positionals;
  if (file === undefined || positionals.length !== 1) {
    fail(
      positionals.length === 0
        ? 'missing <tool-file>'
        : `expected one <tool-file>, got ${positionals.join(' ')}`,
    );
  }
  return { values, file, net: allowNet.net, privateAddresses: allowPrivate.grant };
}

// --input JSON or --input-file FILE (not both); null when neither.
function inputOf(values: RunValues, fail: Fail): unknown {
  if (values.input !== undefined && values['input-file'] !== undefined)
    fail('give --input or --input-file, not both');
  const inputText =
    values['input-file'] !== undefined ? readInputFile(values['input-file'], fail) : values.input;
  return inputText === undefined ? null : parseJson('--input', inputText, fail);
}

/** `--sandbox`: `auto`, `bwrap` or `none`; undefined when the flag was not given. */
export function sandboxFlag(value: string | undefined, fail: Fail): SandboxMode | undefined {
  if (value === undefined || value === 'auto' || value === 'bwrap' || value === 'none')
    return value;
  return fail(`--sandbox must be auto, bwrap or none, got \`${value}\``);
}

// --env NAME=VALUE, repeatable (the values are validated by the runtime, like a library call's).
function envOf(pairs: readonly string[] | undefined, fail: Fail): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail(`--env expects NAME=VALUE, got \`${pair}\``);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

// --allow-read/--allow-write/--allow-env take a value each time or a comma-separated list;
// `net` is what --allow-net asked for.
function permissionsOf(values: RunValues, net: boolean | string[]): Permissions {
  const list = (items: readonly string[] | undefined): string[] =>
    (items ?? []).flatMap((item) => item.split(',')).filter((item) => item !== '');
  return {
    read: list(values['allow-read']),
    write: list(values['allow-write']),
    net,
    env: list(values['allow-env']),
    run: values['allow-run'] ?? false,
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
        verbose: { type: 'boolean', short: 'v' },
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
  const sandbox = sandboxFlag(values.sandbox, (message) => {
    throw new UsageError(message, json);
  });
  return {
    command: 'build',
    files: positionals,
    registry: values.registry,
    sandbox,
    verbose: values.verbose ?? false,
    json,
  };
}

function parseJson(flag: string, text: string, fail: Fail): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return fail(`${flag} is not valid JSON: ${(error as Error).message}`);
  }
}

function readInputFile(path: string, fail: Fail): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return fail(`--input-file: cannot read ${path}: ${(error as Error).message}`);
  }
}
