/**
 * The CLI's network flags: `--allow-net` (the whole network) and `--allow-net=LIST` (an
 * allow-list, Deno's spelling), `--host NAME=ADDRESS` (repeatable) and
 * `--allow-private-addresses` (the runtime's `network` option). `--allow-net` takes its value
 * only after `=`, so it is taken out of argv before node:util's parseArgs, which would read a
 * bare `--allow-net tool.ts` as the list `tool.ts`.
 */
import { normalizeNetworkOptions, type NetworkOptions } from '../network/options.js';
import { parseHostPattern } from '../network/patterns.js';

/** argv without the `--allow-net` flags, and what they asked for. */
export function takeAllowNet(
  args: readonly string[],
  fail: (message: string) => never,
): { readonly rest: string[]; readonly net: boolean | string[] } {
  const rest: string[] = [];
  let net: boolean | string[] = false;
  for (const arg of args) {
    if (arg === '--allow-net') net = true;
    else if (arg.startsWith('--allow-net=')) {
      const hosts = arg.slice('--allow-net='.length).split(',');
      for (const host of hosts) {
        const parsed = parseHostPattern(host);
        if ('problem' in parsed)
          fail(`${arg}: \`${host}\` is not a host pattern: it ${parsed.problem}`);
      }
      // The whole network wins over any list; lists accumulate.
      if (net !== true) net = [...(net === false ? [] : net), ...hosts];
    } else rest.push(arg);
  }
  return { rest, net };
}

/** The runtime's `network` option from `--host NAME=ADDRESS`… and `--allow-private-addresses`. */
export function networkOptions(
  hosts: readonly string[] | undefined,
  allowPrivateAddresses: boolean | undefined,
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
    ...(allowPrivateAddresses === true ? { allowPrivateAddresses: true } : {}),
  };
  try {
    normalizeNetworkOptions(options);
  } catch (error) {
    fail(`--host: ${(error as Error).message.replace(/`network\.hosts(\.)?/g, '`')}`);
  }
  return options;
}
