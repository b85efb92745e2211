/**
 * Run by netns-egress.test.ts inside `unshare -rn`: a network namespace of its own with nothing
 * but a loopback that is down, so a connection the proxy opens to a link-local address fails
 * with ENETUNREACH and nothing leaves the machine. It refuses to run anywhere else. It drives
 * the egress proxy over its Unix socket (which crosses namespaces) and prints one JSON line:
 * the status and denial of each request.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeNetworkOptions, type NetworkOptions } from '../../src/network/network-options.js';
import { createEgressProxy } from '../../src/network/proxy.js';

/** What one request got. */
export interface NetnsReply {
  readonly status: number;
  readonly denied: string | undefined;
  readonly body: string;
}

// /proc/self/net/dev lists the interfaces of this process's network namespace.
const interfaces = readFileSync('/proc/self/net/dev', 'utf8')
  .split('\n')
  .slice(2)
  .map((line) => line.split(':')[0]?.trim())
  .filter((name): name is string => name !== undefined && name !== '');
if (interfaces.join() !== 'lo') {
  console.error(
    `refusing to run outside an empty network namespace (interfaces: ${interfaces.join(', ')})`,
  );
  process.exit(3);
}

const root = mkdtempSync(join(tmpdir(), 'netns-egress-'));
let count = 0;

// One request through a fresh session: absolute-form GET, or CONNECT when `method` says so.
async function through(
  grant: NetworkOptions['allowPrivateAddresses'],
  allow: string,
  method: 'GET' | 'CONNECT',
  target: string,
): Promise<NetnsReply> {
  const session = await createEgressProxy(
    normalizeNetworkOptions({
      hosts: { 'meta.test': '169.254.169.254' },
      ...(grant === undefined ? {} : { allowPrivateAddresses: grant }),
    }),
  ).open({
    allow: [allow],
    maxConnections: 4,
    maxBytes: 1 << 20,
    directory: join(root, `s${count++}`),
  });
  try {
    return await new Promise<NetnsReply>((resolve, reject) => {
      const req = request({ socketPath: session.socketPath, method, path: target });
      const answer = (res: IncomingMessage): void => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          const denied = res.headers['x-toolcage-denied'] as string | undefined;
          resolve({ status: res.statusCode ?? 0, denied, body });
        });
      };
      req.on('response', answer);
      // Node's client takes any answer to CONNECT, 403 included, as the tunnel's.
      req.on('connect', (res: IncomingMessage) => {
        res.socket.destroy();
        const denied = res.headers['x-toolcage-denied'] as string | undefined;
        resolve({ status: res.statusCode ?? 0, denied, body: '' });
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    await session.close();
  }
}

const replies = {
  trueByName: await through(true, 'meta.test', 'GET', 'http://meta.test/latest/meta-data/'),
  trueMapped: await through(
    true,
    '::ffff:169.254.169.254',
    'CONNECT',
    '[::ffff:169.254.169.254]:80',
  ),
  wideBlock: await through(['128.0.0.0/1'], 'meta.test', 'GET', 'http://meta.test/'),
  explicitBlock: await through(['169.254.169.254/32'], 'meta.test', 'GET', 'http://meta.test/'),
};
rmSync(root, { recursive: true, force: true });
console.log(JSON.stringify(replies));
