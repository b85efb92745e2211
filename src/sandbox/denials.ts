/**
 * Which denial explains a failed tool, as data (errors/denial.ts). The egress proxy's refusals
 * are toolcage's own observations (`observedBy: 'proxy'`); a tool's reported
 * EACCES/EPERM/EROFS/ENOENT is a denial (`observedBy: 'tool'`) only where the sandbox plan says
 * the sandbox refuses it, without ever asking the host, and never suggests a grant of what the
 * tool named (docs/architecture.md, "Facts and claims"). Without the sandbox nothing is a denial:
 * an EACCES there is the host's answer.
 */
import { errorChain, type ErrorLink } from '../errors/error-link.js';
import type { Denial } from '../errors/denial.js';
import type { NetworkActivity, NetworkDenial } from '../network/ledger.js';
import { isWrite, networkTarget, reportedPath, spawnTarget } from './reported-error.js';
import { placeInView, type ViewHint } from './sandbox-view.js';
import type { ResolvedPermissions } from './types.js';

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);
// Codes of Node's net/dns and of Bun's fetch when the network namespace has only loopback.
const NETWORK = new Set([
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'EAI_NONAME',
  'ENOTFOUND',
  'ConnectionRefused',
  'FailedToOpenSocket',
  'DNSException',
]);
// Tool-named strings are bounded before they go into a message or a span.
const MAX_NAME = 200;

/**
 * The denial a tool's error reports that the sandbox plan confirms, or undefined when the
 * error is the tool's own. Only a sandboxed run is ever denied.
 */
export function reportedDenial(
  error: ErrorLink | undefined,
  permissions: ResolvedPermissions,
  sandboxed: boolean,
  view: ViewHint = {},
): Denial | undefined {
  if (!sandboxed || error === undefined) return undefined;
  for (const link of errorChain(error)) {
    const denial = linkDenial(link, permissions, view);
    if (denial !== undefined) return denial;
  }
  return undefined;
}

// One link of the chain, judged against the plan.
function linkDenial(
  link: ErrorLink,
  permissions: ResolvedPermissions,
  view: ViewHint,
): Denial | undefined {
  const code = link.code ?? '';
  const command = spawnTarget(link);
  if (command !== undefined) {
    if (permissions.run || !(DENIED.has(code) || code === 'ENOENT')) return undefined;
    return byTool({
      operation: 'run',
      command: bounded(command),
      reason: 'its sandbox allows no subprocesses',
    });
  }
  const connect = NETWORK.has(code) || /Unable to connect/i.test(link.message);
  if (permissions.net !== true && (connect || (DENIED.has(code) && link.syscall === 'connect'))) {
    const { host, port } = networkTarget(link);
    return byTool({
      operation: 'net',
      ...(host === undefined ? {} : { host: bounded(host) }),
      ...(port === undefined ? {} : { port }),
      reason:
        permissions.net === false
          ? 'its sandbox has no network'
          : 'no route out of the sandbox but its egress proxy at HTTP_PROXY',
    });
  }
  if (!DENIED.has(code) && code !== 'ENOENT') return undefined;
  const path = reportedPath(link);
  if (path === undefined) return undefined;
  const write = code === 'EROFS' || isWrite(link);
  const operation = write ? 'write' : 'read';
  switch (placeInView(path, permissions, view)) {
    case 'outside':
      return byTool({ operation, path, reason: 'outside its sandbox view' });
    case 'read-only':
      // A read of a visible path that failed is the host's answer (or a missing file).
      return write && code !== 'ENOENT'
        ? byTool({ operation, path, reason: 'read-only in its sandbox view' })
        : undefined;
    case 'writable':
    case 'kernel':
      return undefined;
  }
}

/**
 * The egress proxy's last refusal by the allow-list or the address rules: the connection a
 * failed tool most likely failed on, as the proxy saw it.
 */
export function proxyDenial(network: NetworkActivity | undefined): Denial | undefined {
  const last = network?.lastDenial;
  return last === undefined ? undefined : proxyRefusal(last);
}

/** One refusal of the egress proxy, as data (also on a successful result: `result.denials`). */
export function proxyRefusal(refusal: NetworkDenial): Denial {
  return {
    operation: 'net',
    host: refusal.host,
    ...(refusal.port === undefined ? {} : { port: refusal.port }),
    reason: refusal.reason,
    observedBy: 'proxy',
  };
}

/**
 * The denial that explains a failure: what toolcage's proxy saw comes before what the tool
 * reports, unless the tool reports something else than a connection (a path or a spawn).
 */
export function explainingDenial(
  reported: Denial | undefined,
  observed: Denial | undefined,
): Denial | undefined {
  if (observed === undefined) return reported;
  return reported !== undefined && reported.operation !== 'net' ? reported : observed;
}

function byTool(denial: Omit<Denial, 'observedBy'>): Denial {
  return { ...denial, observedBy: 'tool' };
}

function bounded(name: string): string {
  return name.length > MAX_NAME ? `${name.slice(0, MAX_NAME - 3)}...` : name;
}
