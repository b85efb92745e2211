import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';

/**
 * Validation of tool ids and tool paths. Both come from callers that may be an AI agent, so a
 * name must mean exactly one thing: no traversal, no hidden files, no invisible characters and
 * no look-alike letters from another script.
 * Each function returns a reason string when the value is refused, undefined when it is fine.
 */

const TOOL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A registry tool id: ASCII letters, digits and `._:-`, starting with a letter or digit. */
export function checkToolId(id: string): string | undefined {
  if (id.length === 0) return 'the tool id is empty';
  if (!TOOL_ID.test(id)) {
    return `the tool id \`${printable(id)}\` must match ${String(TOOL_ID)} (ASCII only, no path characters)`;
  }
  return undefined;
}

const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
// Printable ASCII holds no control, compatibility or look-alike character, and every letter of
// it is Latin: such a path (the usual one) needs only its segments checked. The Unicode checks
// cost a call ≈ 0.05 ms (docs/performance.md, "Checking a tool path").
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const SCRIPTED_LETTER = /\p{L}/gu;

// The scripts whose letters look like Latin ones; mixing them in one name is how look-alike
// names ("tооls" with Cyrillic o) are made.
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Coptic'] as const;
const SCRIPT_TESTS = SCRIPTS.map(
  (script) => [script, new RegExp(`\\p{Script=${script}}`, 'u')] as const,
);

// Names the scripts of the letters in one path segment.
function scriptsOf(segment: string): Set<string> {
  const scripts = new Set<string>();
  for (const [letter] of segment.matchAll(SCRIPTED_LETTER)) {
    const match = SCRIPT_TESTS.find(([, test]) => test.test(letter));
    scripts.add(match === undefined ? 'other' : match[0]);
  }
  return scripts;
}

/** A path as given by a caller (before resolution). */
export function checkPathText(path: string): string | undefined {
  if (path.length === 0) return 'the tool path is empty';
  if (path.includes('\0')) return 'the tool path contains a NUL character';
  if (PRINTABLE_ASCII.test(path)) return checkSegments(path, false);
  if (CONTROL.test(path))
    return `the tool path \`${printable(path)}\` contains a control or invisible character`;
  if (path.normalize('NFC') !== path)
    return `the tool path \`${printable(path)}\` is not in Unicode NFC form`;
  // NFKC folds full-width and other compatibility forms onto ASCII: "ｔｏｏｌ.ts" is refused.
  if (path.normalize('NFKC') !== path) {
    return `the tool path \`${printable(path)}\` contains compatibility characters (full-width or look-alike forms)`;
  }
  return checkSegments(path, true);
}

// No `..` and no segment starting with a dot; with `unicode`, no word mixing scripts.
function checkSegments(path: string, unicode: boolean): string | undefined {
  for (const segment of path.split(/[/\\]/)) {
    if (segment === '..') return `the tool path \`${printable(path)}\` contains \`..\``;
    if (segment.startsWith('.') && segment !== '.') {
      return `the tool path \`${printable(path)}\` has a segment starting with a dot (\`${segment}\`)`;
    }
    if (!unicode) continue;
    // Per word: "погода.ts" is a Cyrillic name with a Latin extension; "echо" (Cyrillic о) is a
    // look-alike of "echo".
    for (const word of segment.split(/[^\p{L}\p{M}]+/u)) {
      const scripts = scriptsOf(word);
      if (scripts.size > 1) {
        return `the tool path word \`${printable(word)}\` mixes scripts (${[...scripts].join(', ')}): a look-alike name`;
      }
    }
  }
  return undefined;
}

/**
 * Resolves a checked path against `baseDir` and confirms it stays inside one of `roots`.
 * Returns the absolute path or a reason.
 */
export function resolveInsideRoots(
  path: string,
  baseDir: string,
  roots: readonly string[],
): { path: string } | { reason: string } {
  const absolute = normalize(isAbsolute(path) ? path : resolve(baseDir, path));
  for (const root of roots) {
    const rel = relative(root, absolute);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`))) {
      return { path: absolute };
    }
  }
  return {
    reason: `the tool path \`${printable(path)}\` is outside the allowed roots (${roots.join(', ')})`,
  };
}

/** Escapes control characters so a message never carries them raw. */
export function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
