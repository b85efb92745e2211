/**
 * Names of secret-bearing files. A tool never sees them: a bundle may not import one (the build
 * is refused), and the directory view of a `bundle: false` tool masks them. Patterns match one
 * path component (a file or directory name), `*` any run of characters, `?` one character.
 */
import { relative, sep } from 'node:path';
import { describeValue } from '../errors/describe-value.js';
import { isInside } from '../sandbox/permissions.js';

/** Always masked: environment files, git metadata, npm credentials, keys and certificates. */
export const DEFAULT_MASK_PATTERNS: readonly string[] = [
  '.env*',
  '.git',
  '.npmrc',
  '*.pem',
  '*.key',
];

/** Tells whether a file or directory name is secret-bearing. */
export interface NameMatcher {
  /** Every pattern, the defaults first. */
  readonly patterns: readonly string[];
  matches(name: string): boolean;
}

/** Throws a TypeError unless `value` is a list of patterns {@link compileMaskPatterns} accepts. */
export function validateMaskPatterns(value: unknown, name: string): void {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be an array of name patterns, got ${describeValue(value)}`,
    );
  }
  value.forEach((pattern: unknown, index) => {
    if (typeof pattern !== 'string' || pattern === '' || /[/\0]/.test(pattern)) {
      throw new TypeError(
        `Expected \`${name}[${index}]\` to be a file name pattern without \`/\` (like \`*.secret\`), got ${describeValue(pattern)}`,
      );
    }
  });
}

/** The defaults plus `extra`, compiled to one regular expression. */
export function compileMaskPatterns(extra: readonly string[] = []): NameMatcher {
  const patterns = [...new Set([...DEFAULT_MASK_PATTERNS, ...extra])];
  const regex = new RegExp(`^(?:${patterns.map(globToRegex).join('|')})$`, 's');
  return { patterns, matches: (name) => regex.test(name) };
}

/**
 * The first secret-bearing component of `path`: of its part below `root` when it lies there
 * (a project inside `~/.env-work/` is not secret), else of the whole path.
 */
export function secretComponent(
  path: string,
  root: string,
  matcher: NameMatcher,
): string | undefined {
  const parts = (isInside(path, root) ? relative(root, path) : path).split(sep);
  return parts.find((part) => part !== '' && matcher.matches(part));
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
