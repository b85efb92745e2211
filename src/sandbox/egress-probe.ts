/**
 * `toolcage doctor`'s check that `permissions.net` allow-lists can be enforced here: an egress
 * proxy session really listens, and a Bun process inside a bubblewrap sandbox with its own
 * network namespace (and user namespace, as tools run) reaches it through the bound socket and
 * gets the proxy's answer. The request names a reserved name, so the proxy refuses it without
 * any lookup: nothing leaves the machine.
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EGRESS_DIR } from '../network/in-sandbox.js';
import { normalizeNetworkOptions } from '../network/network-options.js';
import { createEgressProxy } from '../network/proxy.js';
import { SOCKET_NAME, type EgressSession } from '../network/session.js';
import { runProbe } from './probe.js';
import { ownedTempPrefix } from './sweep.js';

/** Whether allow-lists can be enforced, and what was found. */
export interface EgressProbe {
  readonly available: boolean;
  readonly detail: string;
}

const PROBE_NAME = 'doctor-probe.invalid';
// Runs inside the sandbox: one absolute-form request over the proxy's socket, its status line out.
const SCRIPT = `
import { connect } from 'node:net';
const socket = connect('${EGRESS_DIR}/${SOCKET_NAME}');
let text = '';
socket.on('data', (chunk) => (text += chunk));
socket.on('error', (error) => console.log('error ' + error.code));
socket.on('close', () => console.log(text.split('\\r\\n')[0]));
socket.write('GET http://${PROBE_NAME}/ HTTP/1.1\\r\\nHost: ${PROBE_NAME}\\r\\nConnection: close\\r\\n\\r\\n');
`;

/** Runs the probe; never throws. */
export async function probeEgress(options: {
  readonly bwrapPath: string | undefined;
  readonly bunPath: string;
  readonly userNamespace: boolean;
}): Promise<EgressProbe> {
  if (options.bwrapPath === undefined) {
    return {
      available: false,
      detail: 'needs bubblewrap (the network namespace with no route out)',
    };
  }
  let session: EgressSession | undefined;
  try {
    session = await createEgressProxy(normalizeNetworkOptions({})).open({
      allow: [PROBE_NAME],
      maxConnections: 1,
      maxBytes: 64 * 1024,
      directory: join(tmpdir(), `${ownedTempPrefix('net')}${randomUUID()}`),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { available: false, detail: `the egress proxy cannot listen: ${reason.slice(0, 300)}` };
  }
  try {
    const probe = await runProbe(options.bwrapPath, probeArgs(options, session.directory));
    if (!probe.ok) {
      return {
        available: false,
        detail: `the probe sandbox failed: ${probe.failure.slice(0, 300)}`,
      };
    }
    const status = probe.stdout.trim();
    const refused = session.activity().lastDenial;
    if (!status.startsWith('HTTP/1.1 403') || refused === undefined) {
      return {
        available: false,
        detail: `a sandboxed process did not reach the proxy (${status})`,
      };
    }
    return {
      available: true,
      detail: 'a process in a sandbox with no route out reached its egress proxy',
    };
  } finally {
    await session.close();
  }
}

// A sandbox as tools get one (own network namespace, and user namespace when there is one) with
// the session's directory bound where the worker finds it, running SCRIPT in Bun.
function probeArgs(
  options: { readonly bunPath: string; readonly userNamespace: boolean },
  directory: string,
): string[] {
  return [
    ...(options.userNamespace ? ['--unshare-user', '--uid', '65534', '--gid', '65534'] : []),
    '--unshare-net',
    '--unshare-pid',
    '--die-with-parent',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/run',
    '--ro-bind',
    directory,
    EGRESS_DIR,
    '--',
    options.bunPath,
    '-e',
    SCRIPT,
  ];
}
