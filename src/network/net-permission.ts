/**
 * `permissions.net` as the permission model sees it: `true`, `false`, or a list of host patterns
 * (see patterns.ts) — canonicalised, and narrowed by a call (each of the call's patterns must lie
 * inside one of the tool's; a list narrows `true`).
 */
import {
  formatHostPattern,
  parseHostPattern,
  patternCovers,
  type HostPattern,
} from './host-patterns.js';

/** A list entry that is not a host pattern: its index, its text and why. */
export interface PatternProblem {
  readonly index: number;
  readonly entry: unknown;
  readonly problem: string;
}

/**
 * The canonical form of `net`: a boolean as is, a list as canonical patterns without duplicates
 * (an empty list is `false`: nothing is allowed). Returns the first bad entry instead.
 */
export function canonicalNet(
  net: boolean | readonly string[] | undefined,
): boolean | readonly string[] | PatternProblem {
  if (net === undefined) return false;
  if (typeof net === 'boolean') return net;
  const canonical: string[] = [];
  for (const [index, entry] of net.entries()) {
    const parsed =
      typeof entry === 'string' ? parseHostPattern(entry) : { problem: 'is not a string' };
    if ('problem' in parsed) return { index, entry, problem: parsed.problem };
    canonical.push(formatHostPattern(parsed));
  }
  return canonical.length === 0 ? false : [...new Set(canonical)];
}

/**
 * A call's `net` against its tool's (`base`, canonical), in one pass: the call's, canonical,
 * when it narrows `base`; else its first bad entry, or why it widens `base`.
 */
export function narrowNet(
  base: boolean | readonly string[],
  requested: boolean | readonly string[] | undefined,
): { readonly net: boolean | readonly string[] } | PatternProblem | { readonly widens: string } {
  const net = canonicalNet(requested);
  if (isPatternProblem(net)) return net;
  const widens = netWidening(base, net);
  return widens === undefined ? { net } : { widens };
}

/** True when `value` is a {@link PatternProblem}. */
export function isPatternProblem(value: unknown): value is PatternProblem {
  return typeof value === 'object' && value !== null && 'problem' in value;
}

/**
 * Why `requested` widens `base` (both canonical), or undefined when it narrows it: `true` only
 * inside `true`; every pattern of a list inside a pattern of the base list (or any, under `true`).
 */
export function netWidening(
  base: boolean | readonly string[],
  requested: boolean | readonly string[],
): string | undefined {
  if (requested === false || base === true) return undefined;
  if (requested === true) {
    return base === false
      ? '`net` is not granted'
      : '`net: true` (the whole network) is wider than the allow-list';
  }
  if (base === false) return `\`net\` is not granted (asked for ${requested.join(', ')})`;
  const outer = base.map(parse);
  const outside = requested.find(
    (entry) => !outer.some((pattern) => patternCovers(pattern, parse(entry))),
  );
  return outside === undefined
    ? undefined
    : `\`net\` host ${outside} is not in the tool's allow-list`;
}

function parse(text: string): HostPattern {
  const parsed = parseHostPattern(text);
  if ('problem' in parsed) throw new Error(`host pattern \`${text}\` ${parsed.problem}`);
  return parsed;
}
