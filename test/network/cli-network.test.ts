/**
 * The CLI's network flags: parsed (pure), and `toolcage run` with an allow-list end to end
 * through the built bin (npm test builds first). Servers on 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import { FIXTURES } from '../helpers/runtime.js';
import { sandboxAvailability } from '../sandbox/harness.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const available = await sandboxAvailability();

function run(args: readonly string[]) {
  const command = parseCommandLine(['run', 'tool.ts', ...args]);
  if (command.command !== 'run') throw new Error('not a run');
  return command;
}

function usage(args: readonly string[]): string {
  try {
    run(args);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('network flags', () => {
  test('--allow-net alone is the whole network, even before the tool file', () => {
    expect(parseCommandLine(['run', '--allow-net', 'tool.ts'])).toMatchObject({
      file: 'tool.ts',
      permissions: { net: true },
    });
    expect(run([]).permissions.net).toBe(false);
  });

  test('--allow-net=LIST is an allow-list; --host and --allow-private-addresses set `network`', () => {
    const command = run([
      '--allow-net=allowed.test,*.cdn.example',
      '--allow-net=api.example.com:8443',
      '--host',
      'allowed.test=127.0.0.1',
      '--host=allowed.test=::1',
      '--allow-private-addresses',
      '--max-connections',
      '4',
      '--max-network-mb',
      '8',
    ]);
    expect(command.permissions.net).toEqual([
      'allowed.test',
      '*.cdn.example',
      'api.example.com:8443',
    ]);
    expect(command.network).toEqual({
      hosts: { 'allowed.test': ['127.0.0.1', '::1'] },
      allowPrivateAddresses: true,
    });
    expect(command.limits).toEqual({ maxConnections: 4, maxNetworkMb: 8 });
  });

  test('--allow-private-addresses=BLOCKS is a list of blocks; lists accumulate', () => {
    const command = run([
      '--allow-private-addresses=10.0.0.0/8,169.254.169.254',
      '--allow-net=allowed.test',
      '--allow-private-addresses=fd00::/8',
    ]);
    expect(command.network).toEqual({
      hosts: {},
      allowPrivateAddresses: ['10.0.0.0/8', '169.254.169.254', 'fd00::/8'],
    });
    expect(command.permissions.net).toEqual(['allowed.test']);
    expect(run([]).network).toEqual({ hosts: {} });
  });

  test.each([
    [
      ['--allow-private-addresses', '--allow-private-addresses=169.254.169.254'],
      'give --allow-private-addresses (loopback and private ranges) or --allow-private-addresses=BLOCKS, not both',
    ],
    [
      ['--allow-private-addresses=10.0.0.1/8'],
      '--allow-private-addresses=10.0.0.1/8: `10.0.0.1/8` is not a CIDR block or an IP address: it has bits set after its prefix (the block is `10.0.0.0/8`)',
    ],
    [['--allow-private-addresses='], '`` is not a CIDR block or an IP address'],
    [['--allow-private-addresses=internal.example'], '`internal.example` is not a CIDR block'],
    [['--allow-net=http://x.example'], '`http://x.example` is not a host pattern: it is a URL'],
    [['--allow-net=a.example,'], '`` is not a host pattern: it is empty'],
    [['--host', 'allowed.test'], '--host expects NAME=ADDRESS, got `allowed.test`'],
    [['--host', 'allowed.test=somewhere'], 'to hold IP addresses, got `somewhere`'],
    [['--host', 'bad name=127.0.0.1'], 'got `bad name`'],
  ])('%j is a usage error', (args, message) => {
    expect(usage(args)).toContain(message);
  });
});

describe.skipIf(!available.ok)('toolcage run with an allow-list', () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer((req, res) => res.end(`hello ${req.url ?? ''}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const cli = (url: string, extra: readonly string[] = []) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          CLI,
          'run',
          `${FIXTURES}net-fetch.ts`,
          '--allow-net=allowed.test',
          '--host',
          'allowed.test=127.0.0.1',
          '--host',
          'denied.test=127.0.0.1',
          ...extra,
          '--input',
          JSON.stringify({ url }),
          '--json',
        ],
        (error, stdout) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout });
        },
      );
    });

  test('an allowed name is fetched; another is permission_denied; loopback needs --allow-private-addresses', async () => {
    const ok = await cli(`http://allowed.test:${port}/cli`, ['--allow-private-addresses']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      ok: true,
      output: 'hello /cli',
      enforcement: { network: 'allow-list', networkAllowList: ['allowed.test'] },
    });
    const denied = await cli(`http://denied.test:${port}/cli`, ['--allow-private-addresses']);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({
      ok: false,
      error: {
        kind: 'permission_denied',
        message: `Tool \`net-fetch\` was denied by the sandbox: connect to denied.test:${port}: not in the allow-list`,
      },
    });
    const private_ = await cli(`http://allowed.test:${port}/cli`);
    expect(private_.code).toBe(1);
    const refused = JSON.parse(private_.stdout) as { error: { kind: string; message: string } };
    expect(refused.error.kind).toBe('permission_denied');
    expect(refused.error.message).toContain('resolves to 127.0.0.1, a loopback address');
  });
});
