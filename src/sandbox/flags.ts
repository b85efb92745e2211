/**
 * Deno/Compozy-style permission flags (`--allow-read=/data`, `--allow-net`, …) to and from the
 * permission model, so an engine's existing `bun_permissions` setting finally means something.
 *
 * Decisions, where Deno's flags mean more than toolcage can enforce:
 * - `--allow-read` / `--allow-write` without a value grant the whole filesystem (`/`), as in
 *   Deno. The sandbox still mounts a fresh `/proc`, `/dev` and private `/tmp` over it.
 * - `--allow-net` without a value is the whole network; `--allow-net=api.example.com,*.cdn.example`
 *   is an allow-list of host patterns, enforced by toolcage's egress proxy (as Deno spells it).
 * - Flags that would need a finer filter than the OS sandbox has are refused rather than
 *   widened: `--allow-run=cmd` (subprocesses are all or none), `--allow-env` without names
 *   (variables pass by name).
 * - `--allow-all` / `-A` is refused: toolcage never grants everything; use `sandbox: 'none'`.
 * - Any other flag (`--allow-ffi`, `--deny-*`, typos) is refused, naming it.
 * Paths are split on commas, so a path containing a comma cannot be expressed as a flag.
 */
import { parseHostPattern } from '../network/host-patterns.js';
import type { Permissions, ResolvedPermissions } from './types.js';

/**
 * Parses permission flags into {@link Permissions}. Repeated flags accumulate
 * (`--allow-read=/a --allow-read=/b`). Throws a TypeError naming the first flag it cannot honour.
 */
export function parsePermissionFlags(flags: readonly string[]): Permissions {
  const read: string[] = [];
  const write: string[] = [];
  const env: string[] = [];
  let net: boolean | string[] = false;
  let run = false;
  for (const flag of flags) {
    if (typeof flag !== 'string') {
      throw new TypeError(`Expected a permission flag to be a string, got \`${String(flag)}\``);
    }
    const equals = flag.indexOf('=');
    const name = equals === -1 ? flag : flag.slice(0, equals);
    const value = equals === -1 ? undefined : flag.slice(equals + 1);
    switch (name) {
      case '--allow-read':
        read.push(...listOrRoot(flag, value));
        break;
      case '--allow-write':
        write.push(...listOrRoot(flag, value));
        break;
      case '--allow-env':
        if (value === undefined) {
          throw new TypeError(
            `Permission flag \`${flag}\` needs variable names (\`--allow-env=A,B\`): toolcage passes host variables by name only`,
          );
        }
        env.push(...list(flag, value));
        break;
      case '--allow-net':
        // The whole network wins over any list; lists accumulate.
        if (value === undefined) net = true;
        else if (net !== true) net = [...(net === false ? [] : net), ...hostList(flag, value)];
        break;
      case '--allow-run':
        if (value !== undefined) {
          throw new TypeError(
            `Permission flag \`${flag}\` is not supported: the sandbox allows all subprocesses or none (use \`--allow-run\`)`,
          );
        }
        run = true;
        break;
      case '--allow-all':
      case '-A':
        throw new TypeError(
          `Permission flag \`${flag}\` is not supported: toolcage never grants everything; choose \`sandbox: 'none'\` explicitly to run unsandboxed`,
        );
      default:
        throw new TypeError(`Unknown permission flag \`${flag}\``);
    }
  }
  return { read, write, net, env, run };
}

/**
 * The flags that express resolved permissions, in a stable order (the span attribute
 * `permissions`): `--allow-read=/a,/b`, `--allow-write=…`, `--allow-net[=hosts]`, `--allow-env=A,B`,
 * `--allow-run`. Nothing granted gives `[]`.
 */
export function permissionsToFlags(permissions: ResolvedPermissions): string[] {
  const flags: string[] = [];
  if (permissions.read.length > 0) flags.push(`--allow-read=${permissions.read.join(',')}`);
  if (permissions.write.length > 0) flags.push(`--allow-write=${permissions.write.join(',')}`);
  if (permissions.net === true) flags.push('--allow-net');
  else if (permissions.net !== false) flags.push(`--allow-net=${permissions.net.join(',')}`);
  if (permissions.env.length > 0) flags.push(`--allow-env=${permissions.env.join(',')}`);
  if (permissions.run) flags.push('--allow-run');
  return flags;
}

function hostList(flag: string, value: string): string[] {
  const hosts = list(flag, value);
  for (const host of hosts) {
    const parsed = parseHostPattern(host);
    if ('problem' in parsed) {
      throw new TypeError(
        `Permission flag \`${flag}\`: \`${host}\` is not a host pattern: it ${parsed.problem}`,
      );
    }
  }
  return hosts;
}

function listOrRoot(flag: string, value: string | undefined): string[] {
  return value === undefined ? ['/'] : list(flag, value);
}

function list(flag: string, value: string): string[] {
  const items = value.split(',');
  if (items.some((item) => item === '')) {
    throw new TypeError(`Permission flag \`${flag}\` has an empty entry`);
  }
  return items;
}
