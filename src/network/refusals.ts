/**
 * How the egress proxy says no: the outcome of admitting a connection, and the whole responses
 * for sockets the HTTP server does not answer itself (a refused connection, a bad head).
 */
import type { NetworkLedger } from './ledger.js';
import { statusResponse, type RelayMeter } from './relay.js';

/** Let through to `address`, with the relay's meter; or refused with a status and why. */
export type Admission =
  | { readonly ok: true; readonly address: string; readonly meter: RelayMeter }
  | { readonly ok: false; readonly status: Status; readonly text: string; readonly reason: string };

/** The statuses the proxy answers with itself. */
export const STATUS_TEXT = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  503: 'Service Unavailable',
} as const;
export type Status = keyof typeof STATUS_TEXT;

/** After close(): the execution is over (not a limit of the tool's). */
export const ENDED: Admission = {
  ok: false,
  status: 503,
  text: STATUS_TEXT[503],
  reason: 'the execution has ended',
};

/** A refusal by a network limit (the ledger recorded it). */
export function limitedBy(reason: string): Admission {
  return { ok: false, status: 429, text: STATUS_TEXT[429], reason };
}

/** A whole response refusing a socket the HTTP server does not answer itself. */
export function refusal(status: Status, reason: string): string {
  const headers = { 'x-toolcage-denied': headerSafe(reason) };
  return statusResponse(status, STATUS_TEXT[status], headers, `${reason}\n`);
}

/** A header value: one line of printable ASCII. */
export function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/**
 * The answer to a request head Node did not accept: too large (431) or too slow (408) — network
 * limits, recorded — or malformed (400).
 */
export function headRefusal(
  code: string | undefined,
  bounds: { readonly maxHeadBytes: number; readonly headTimeoutMs: number },
  ledger: NetworkLedger,
): string {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return refusal(431, ledger.limited(`a request head larger than ${bounds.maxHeadBytes} bytes`));
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const why = `a request head not received in ${bounds.headTimeoutMs} ms`;
    return refusal(408, ledger.limited(why));
  }
  return refusal(400, 'bad request');
}
