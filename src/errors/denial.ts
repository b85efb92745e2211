/**
 * A denial as data: what was refused, on what, why, and who saw it (`observedBy`: `proxy` when
 * toolcage's egress proxy refused it, `tool` when only the tool's error says so and the plan
 * agrees the sandbox refuses such an operation). Made where the denial is seen (the proxy's
 * ledger, or sandbox/denials.ts) and carried as it is to the message, the error and the metric
 * label: nothing reads it back out of its text. A `tool` denial's message never suggests a grant
 * of what the tool named (docs/architecture.md, "Facts and claims").
 */

/** The kind of a denied operation (the `operation` label of the permission-denial metric). */
export type DeniedOperation = 'read' | 'write' | 'net' | 'run';

/** One operation the sandbox refused. */
export interface Denial {
  readonly operation: DeniedOperation;
  /** `read`/`write`: the path, absolute and normalised. */
  readonly path?: string;
  /** `run`: the command's name. */
  readonly command?: string;
  /** `net`: the host (a name, an address, or `@name` for an abstract Unix socket). */
  readonly host?: string;
  /** `net`: the port, when known. */
  readonly port?: number;
  /** Why, as the sandbox's rules say: "outside its sandbox view", "not in the allow-list". */
  readonly reason: string;
  /** Who saw it: toolcage's egress proxy, or only the tool (see above). */
  readonly observedBy: 'proxy' | 'tool';
}

/** What was refused, in words: "read of /etc/passwd", "connect to api.example:443". */
export function deniedTarget(denial: Denial): string {
  switch (denial.operation) {
    case 'read':
    case 'write':
      return `${denial.operation} of ${denial.path ?? 'a path'}`;
    case 'run':
      return `spawn of ${denial.command ?? 'a process'}`;
    case 'net':
      return `connect to ${networkTarget(denial)}`;
    default:
      return denial.operation satisfies never;
  }
}

/**
 * The message of a `permission_denied` failure. The proxy's own refusal is stated as a fact;
 * the tool's report is worded as its report, with how such grants work in general.
 */
export function denialMessage(toolId: string, denial: Denial): string {
  const tool = `Tool \`${toolId}\``;
  if (denial.observedBy === 'proxy') {
    return `${tool} was denied by the sandbox: ${deniedTarget(denial)}: ${denial.reason}`;
  }
  const grants = howGranted(denial.operation);
  return `${tool} reported that a ${deniedTarget(denial)} was denied (${denial.reason})${grants === undefined ? '' : `; ${grants}`}`;
}

// How the caller grants an operation of this kind, never naming what the tool asked for.
function howGranted(operation: DeniedOperation): string | undefined {
  switch (operation) {
    case 'read':
      return 'the caller grants reads with permissions.read (--allow-read)';
    case 'write':
      return 'the caller grants writes with permissions.write (--allow-write)';
    case 'run':
      return 'the caller allows subprocesses with permissions.run (--allow-run)';
    case 'net':
      return undefined;
    default:
      return operation satisfies never;
  }
}

function networkTarget(denial: Denial): string {
  const host = denial.host;
  if (host === undefined) return 'the network';
  // Only a tool's report names an abstract Unix socket (the proxy sees host names).
  if (host.startsWith('@') && denial.observedBy === 'tool')
    return `the abstract Unix socket ${host}`;
  if (denial.port === undefined) return host;
  return host.includes(':') ? `[${host}]:${denial.port}` : `${host}:${denial.port}`;
}
