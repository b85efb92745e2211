/**
 * The CLI's network flags: `--allow-net` (the whole network) and `--allow-net=LIST` (an
 * allow-list, Deno's spelling), `--host NAME=ADDRESS` (repeatable) and
 * `--allow-private-addresses[=BLOCKS]` (the runtime's `network` option). The two `--allow-…`
 * flags take their value only after `=`, so they are taken out of argv before node:util's
 * parseArgs, which would read a bare `--allow-net tool.ts` as the list `tool.ts`.
 */
import { normalizeNetworkOptions, type NetworkOptions } from '../network/network-options.js';
import { parseHostPattern } from '../network/host-patterns.js';
import { parseAddressBlock } from '../network/private-addresses.js';

/** argv without the `--allow-net` flags, and what they asked for. */
export function takeAllowNet(
  args: readonly string[],
  fail: (message: string) => never,
): { readonly rest: string[]; readonly net: boolean | string[] } {
  const { rest, bare, entries } = takeListFlag(args, '--allow-net', (host, arg) => {
    const parsed = parseHostPattern(host);
    if ('problem' in parsed)
      fail(`${arg}: \`${host}\` is not a host pattern: it ${parsed.problem}`);
  });
  // The whole network wins over any list; lists accumulate.
  return { rest, net: bare || (entries.length > 0 ? entries : false) };
}

/**
 * argv without the `--allow-private-addresses` flags: bare, `true` (loopback and private); with
 * `=BLOCKS`, those CIDR blocks (lists accumulate). Not both: `true` never admits link-local
 * addresses and a list may, so neither can stand for the other.
 */
export function takeAllowPrivateAddresses(
  args: readonly string[],
  fail: (message: string) => never,
): { readonly rest: string[]; readonly grant: boolean | string[] | undefined } {
  const flag = '--allow-private-addresses';
  const { rest, bare, entries } = takeListFlag(args, flag, (block, arg) => {
    const parsed = parseAddressBlock(block);
    if ('problem' in parsed) {
      fail(`${arg}: \`${block}\` is not a CIDR block or an IP address: it ${parsed.problem}`);
    }
  });
  if (bare && entries.length > 0) {
    fail(`give ${flag} (loopback and private ranges) or ${flag}=BLOCKS, not both`);
  }
  return { rest, grant: bare || (entries.length > 0 ? entries : undefined) };
}

// `flag` alone and `flag=A,B` taken out of argv; each entry checked by `check`.
function takeListFlag(
  args: readonly string[],
  flag: string,
  check: (entry: string, arg: string) => void,
): { rest: string[]; bare: boolean; entries: string[] } {
  const rest: string[] = [];
  const entries: string[] = [];
  let bare = false;
  for (const arg of args) {
    if (arg === flag) bare = true;
    else if (arg.startsWith(`${flag}=`)) {
      for (const entry of arg.slice(flag.length + 1).split(',')) {
        check(entry, arg);
        entries.push(entry);
      }
    } else rest.push(arg);
  }
  return { rest, bare, entries };
}

/** The runtime's `network` option from `--host NAME=ADDRESS`… and `--allow-private-addresses`. */
export function networkOptions(
  hosts: readonly string[] | undefined,
  allowPrivateAddresses: boolean | string[] | undefined,
  fail: (message: string) => never,
): NetworkOptions {
  const map: Record<string, string[]> = {};
  for (const pair of hosts ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail(`--host expects NAME=ADDRESS, got \`${pair}\``);
    (map[pair.slice(0, eq)] ??= []).push(pair.slice(eq + 1));
  }
  const options: NetworkOptions = {
    hosts: map,
    ...(allowPrivateAddresses === undefined ? {} : { allowPrivateAddresses }),
  };
  try {
    normalizeNetworkOptions(options);
  } catch (error) {
    fail(`--host: ${(error as Error).message.replace(/`network\.hosts(\.)?/g, '`')}`);
  }
  return options;
}
