/**
 * How a sandbox with an allow-list reaches its egress proxy: the session's directory is bound
 * read-only at {@link EGRESS_DIR}, the worker listens on the sandbox's own loopback at
 * {@link EGRESS_PORT} and forwards to the socket there (see runtime/worker/egress.ts), and the
 * tool's environment points every proxy variable at that listener.
 */
import { SOCKET_NAME } from './session.js';

/** Where the execution's proxy socket directory appears inside the sandbox. */
export const EGRESS_DIR = '/run/toolcage';
/**
 * The listener's port on the sandbox's loopback (its own network namespace: no other process of
 * the host shares it). The conventional HTTP proxy port; a tool cannot listen on it itself.
 */
export const EGRESS_PORT = 3128;
/** The worker's argument that starts the listener (see runtime/worker/run.ts). */
export const EGRESS_ARG = `--toolcage-egress=${EGRESS_PORT},${EGRESS_DIR}/${SOCKET_NAME}`;

/**
 * The proxy variables of a tool with an allow-list, upper and lower case (Bun's fetch reads
 * them; curl and most libraries read one or the other). `NO_PROXY` is not set: every request
 * goes to the proxy, which decides.
 */
export function egressEnv(): Record<string, string> {
  const url = `http://127.0.0.1:${EGRESS_PORT}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
  };
}

/**
 * A call's variables with an allow-list: the worker sets them in the process after it started,
 * so the proxy variables are toolcage's again and `NO_PROXY` goes (a request that skipped the
 * proxy would only find no route).
 */
export function withEgressProxy(env: Readonly<Record<string, string>>): Record<string, string> {
  const kept = Object.entries(env).filter(([name]) => name.toLowerCase() !== 'no_proxy');
  return { ...Object.fromEntries(kept), ...egressEnv() };
}
