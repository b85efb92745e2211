/**
 * Names of secret-bearing files: the one list of them (see docs/secrets.md). A
 * tool never sees them: a bundle may not import one (the build is refused), and every directory
 * the sandbox shows — a `bundle: false` tool's own, and each granted one — masks them. A pattern
 * matches one path component (a file or directory name), or, written `a/b`, a name `b` in a
 * directory named `a`; `*` matches any run of characters, `?` one character.
 */
import { basename, dirname, relative, sep } from 'node:path';
import { describeValue } from '../errors/describe-value.js';
import { isInside } from '../sandbox/permissions.js';

/**
 * Always masked: environment files, version-control metadata and credential helpers, SSH, GPG,
 * cloud and cluster credentials, package-registry tokens, keys and certificates.
 */
export const DEFAULT_MASK_PATTERNS: readonly string[] = [
  '.env*',
  '.git',
  '.git-credentials',
  '.netrc',
  '.ssh',
  '.gnupg',
  '.aws',
  '.kube',
  '.docker',
  '.config/gcloud',
  '.npmrc',
  '.pypirc',
  'id_*',
  '*.pem',
  '*.key',
  '*.p12',
];

/** Tells whether a file or directory is secret-bearing, by its name (and its parents'). */
export interface NameMatcher {
  /** Every pattern, the defaults first. */
  readonly patterns: readonly string[];
  /** Whether an entry `name` of the directory `dir` (absolute; needed for `a/b` patterns) matches. */
  matches(name: string, dir?: string): boolean;
}

/** Throws a TypeError unless `value` is a list of patterns {@link compileMaskPatterns} accepts. */
export function validateMaskPatterns(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be an array of name patterns, got ${describeValue(value)}`,
    );
  }
  value.forEach((pattern: unknown, index) => {
    if (
      typeof pattern !== 'string' ||
      pattern.includes('\0') ||
      pattern.split('/').some((part) => part === '' || part === '.' || part === '..')
    ) {
      throw new TypeError(
        `Expected \`${name}[${index}]\` to be a file name pattern (like \`*.secret\`), or names joined by \`/\` (like \`.config/gcloud\`), got ${describeValue(pattern)}`,
      );
    }
  });
}

/** The defaults plus `extra`, compiled. */
export function compileMaskPatterns(extra: readonly string[] = []): NameMatcher {
  const patterns = [...new Set([...DEFAULT_MASK_PATTERNS, ...extra])];
  const single = patterns.filter((pattern) => !pattern.includes('/'));
  const nameRegex = new RegExp(`^(?:${single.map(globToRegex).join('|') || '(?!)'})$`, 's');
  // `a/b/c`: the entry's own name against `c`, then its directory's names against `b`, `a`.
  const nested = patterns
    .filter((pattern) => pattern.includes('/'))
    .map((pattern) =>
      pattern
        .split('/')
        .reverse()
        .map((part) => new RegExp(`^${globToRegex(part)}$`, 's')),
    );
  const matchesNested = (name: string, dir: string): boolean =>
    nested.some((parts) => {
      let at = dir;
      if (!parts[0]!.test(name)) return false;
      for (const part of parts.slice(1)) {
        if (at === dirname(at) || !part.test(basename(at))) return false;
        at = dirname(at);
      }
      return true;
    });
  return {
    patterns,
    matches: (name, dir) =>
      nameRegex.test(name) || (dir !== undefined && nested.length > 0 && matchesNested(name, dir)),
  };
}

/**
 * The first secret-bearing component of `path` (absolute): of its part below `root` when it lies
 * there (a project inside `~/.env-work/` is not secret), else of the whole path. An `a/b`
 * pattern may look above `root` for `a`.
 */
export function secretComponent(
  path: string,
  root: string,
  matcher: NameMatcher,
): string | undefined {
  const below = isInside(path, root);
  const parts = (below ? relative(root, path) : path).split(sep).filter((part) => part !== '');
  let dir = below ? root : sep;
  for (const part of parts) {
    if (matcher.matches(part, dir)) return part;
    dir = `${dir === sep ? '' : dir}${sep}${part}`;
  }
  return undefined;
}

function globToRegex(glob: string): string {
  let out = '';
  for (const char of glob) {
    if (char === '*') out += '.*';
    else if (char === '?') out += '.';
    else out += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}
