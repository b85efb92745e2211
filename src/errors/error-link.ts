/**
 * An error as it crossed the process boundary from the tool's process: the error, then each
 * `cause`. The worker's wire shape (runtime/worker/protocol.ts `SerializedError`, which the Bun
 * side must declare on its own) is checked against this one where both meet (runtime/classify.ts).
 * Everything in it is the tool's to write: a claim, never a fact toolcage observed.
 */

/** One error of the tool's serialised chain. */
export interface ErrorLink {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly errno?: number;
  readonly cause?: ErrorLink;
}

/** Links of a chain walked at most this deep (a tool may send a long or odd one). */
const MAX_LINKS = 10;

/** The error and its causes, outermost first. */
export function errorChain(error: ErrorLink): ErrorLink[] {
  const links: ErrorLink[] = [];
  for (
    let e: ErrorLink | undefined = error;
    e !== undefined && links.length < MAX_LINKS;
    e = e.cause
  ) {
    links.push(e);
  }
  return links;
}

/**
 * The tool's error as an ErrorLink whatever it wrote: the message on fd 3 is parsed JSON from
 * the tool's process, so `error` may be anything (null, a number, fields of the wrong type).
 * Strings are kept, everything else dropped; the chain is cut at {@link MAX_LINKS}.
 */
export function toErrorLink(value: unknown, depth = 0): ErrorLink {
  const fields =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const text = (key: string): string | undefined =>
    typeof fields[key] === 'string' ? fields[key] : undefined;
  const optional = (key: string): Record<string, string> => {
    const field = text(key);
    return field === undefined ? {} : { [key]: field };
  };
  const cause = fields['cause'];
  return {
    name: text('name') ?? 'Error',
    message: text('message') ?? (typeof value === 'string' ? value : ''),
    ...optional('stack'),
    ...optional('code'),
    ...optional('syscall'),
    ...optional('path'),
    ...(typeof fields['errno'] === 'number' ? { errno: fields['errno'] } : {}),
    ...(cause !== undefined && cause !== null && depth + 1 < MAX_LINKS
      ? { cause: toErrorLink(cause, depth + 1) }
      : {}),
  };
}
