/**
 * What the sandbox can tell about a failed tool, in one call (the runtime's explain hook): the
 * denial that explains it (denials.ts: the egress proxy's refusals, or the tool's report checked
 * against the plan) and the limit it hit (limit-hints.ts). Pure: it reads the tool's message, how
 * the process ended, the cgroups' and the proxy's report, and the plan — never the host.
 * `src/runtime/classify.ts` decides the kind with it.
 */
import type { Denial } from '../errors/denial.js';
import { toErrorLink } from '../errors/error-link.js';
import type { LimitName } from '../errors/tool-execution-error.js';
import type { NetworkActivity } from '../network/ledger.js';
import { explainingDenial, proxyDenial, reportedDenial } from './denials.js';
import { limitHint, type LimitHint } from './limit-hints.js';
import type { ViewHint } from './sandbox-view.js';
import type { Enforcement, LimitReport, ResolvedPermissions } from './types.js';

/** What the sandbox tells about a failure. */
export interface SandboxHints {
  /** The denial that explains it, for `permission_denied`. */
  readonly denial: Denial | undefined;
  /** A limit the process's end or the tool's error points to. */
  readonly limitHit: LimitName | undefined;
  readonly limitDetail: string | undefined;
}

/** Nothing to tell (a run that succeeded, or no sandbox to ask). */
export const NO_HINTS: SandboxHints = {
  denial: undefined,
  limitHit: undefined,
  limitDetail: undefined,
};

/**
 * The denial and the limit hint of a failure, from the worker's message, how the process ended,
 * the limits report, the permissions and enforcement, and what the runtime knows of the view.
 */
export function explainThroughSandbox(
  message: { readonly type: string; readonly error?: unknown } | 'invalid' | undefined,
  end: { readonly code: number | null; readonly signal: string | null },
  report: LimitReport,
  permissions: ResolvedPermissions,
  enforcement: Enforcement,
  context: ViewHint & { readonly limits?: Parameters<typeof limitHint>[0]['limits'] } = {},
): SandboxHints {
  // The message is the tool's process's JSON: its error is read whatever shape it has.
  const error =
    typeof message === 'object' && message.type === 'error'
      ? toErrorLink(message.error)
      : undefined;
  const hint =
    limitHint({
      exitCode: end.code,
      signal: end.signal,
      error,
      report,
      ...(context.limits === undefined ? {} : { limits: context.limits }),
      ...(enforcement.tmp.mechanism === 'tmpfs'
        ? { scratch: { limitMb: enforcement.tmp.limitMb, permissions } }
        : {}),
      memoryRlimitMb:
        enforcement.memory.mechanism === 'rlimit-data' ? enforcement.memory.limitMb : undefined,
    }) ?? networkLimit(report.network);
  const sandboxed = enforcement.sandbox === 'bwrap';
  const denial =
    hint === undefined
      ? explainingDenial(
          reportedDenial(error, permissions, sandboxed, context),
          proxyDenial(report.network),
        )
      : undefined;
  return { denial, limitHit: hint?.limit, limitDetail: hint?.detail };
}

// The egress proxy's limit, when one refused or cut a connection of the execution.
function networkLimit(network: NetworkActivity | undefined): LimitHint | undefined {
  return network?.limit === undefined ? undefined : { limit: 'network', detail: network.limit };
}
