/**
 * The TypeScript code blocks of a Markdown document, and the relative links and headings it
 * holds (for test/docs.test.ts).
 *
 * A ```ts or ```typescript block is checked as a module of its own. An HTML comment right before
 * its fence says otherwise (it is not rendered, so readers see the block as it is):
 *
 *     <!-- ts-check: module -->                the default: the block is a module
 *     <!-- ts-check: fragment -->              the block is a function body (an options object
 *                                              in use, a route's few lines)
 *     <!-- ts-check: script -->                the block is a script (`declare module 'x'`)
 *     <!-- ts-check: skip, <reason> -->        pseudo-code; the reason is required
 *
 * Any but `skip` may hold more lines before its `-->`: declarations put before the block (the
 * imports and `declare const` of what the block takes as given, such as the caller's `signal`).
 */

/** How a block is checked. */
export type BlockMode = 'module' | 'fragment' | 'script' | 'skip';

export interface CodeBlock {
  /** 1-based line of the opening fence in its document. */
  readonly line: number;
  readonly mode: BlockMode;
  /** Declarations the annotation puts before the block (empty without one). */
  readonly prelude: string;
  /** The block's text, its fence's indentation removed. */
  readonly code: string;
  /** Why a skipped block is not checked. */
  readonly reason?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;
const ANNOTATION = /^\s*<!--\s*ts-check:\s*([a-z]+)\s*(?:,\s*(.*?))?\s*(-->)?\s*$/;

/** The annotation that ends on `lines[end]`, if the comment there is one. */
function annotationEndingAt(
  lines: readonly string[],
  end: number,
): { mode: BlockMode; prelude: string; reason?: string; start: number } | undefined {
  // A one-line annotation, or a multi-line one whose last line is `-->`.
  let start = end;
  if (!ANNOTATION.test(lines[end] ?? '')) {
    if ((lines[end] ?? '').trim() !== '-->') return undefined;
    while (start > 0 && !/^\s*<!--/.test(lines[start] ?? '')) start -= 1;
  }
  const match = ANNOTATION.exec(lines[start] ?? '');
  if (!match) return undefined;
  const [, mode, reason, closed] = match;
  if (start === end && !closed) throw new Error(`line ${start + 1}: an unclosed annotation`);
  if (mode !== 'module' && mode !== 'fragment' && mode !== 'script' && mode !== 'skip') {
    throw new Error(`line ${start + 1}: unknown ts-check mode \`${mode}\``);
  }
  if (mode === 'skip' && !reason) {
    throw new Error(`line ${start + 1}: \`ts-check: skip\` needs a reason`);
  }
  if (mode !== 'skip' && reason) {
    throw new Error(`line ${start + 1}: \`ts-check: ${mode}\` takes no reason (${reason})`);
  }
  const prelude = start === end ? '' : lines.slice(start + 1, end).join('\n');
  if (mode === 'skip' && prelude) {
    throw new Error(`line ${start + 1}: a skipped block has no declarations`);
  }
  return { mode, prelude, start, ...(reason ? { reason } : {}) };
}

/** Every TypeScript block of `markdown`, with how it is to be checked. */
export function typeScriptBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  const annotated = new Set<number>();
  for (let i = 0; i < lines.length; i += 1) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', lang = ''] = open;
    let close = i + 1;
    while (close < lines.length && !lines[close]!.trim().startsWith(fence)) close += 1;
    if (close === lines.length) throw new Error(`line ${i + 1}: a code block is never closed`);
    const body = lines.slice(i + 1, close).map((line) => line.slice(indent.length));
    // Annotations sit above the fence; blank lines and other one-line comments may stand between.
    let above = i - 1;
    while (above >= 0 && /^\s*(<!--(?!\s*ts-check:).*-->)?\s*$/.test(lines[above]!)) above -= 1;
    const annotation = above >= 0 ? annotationEndingAt(lines, above) : undefined;
    if (annotation) annotated.add(annotation.start);
    if (lang === 'ts' || lang === 'typescript') {
      const { mode = 'module', prelude = '', reason } = annotation ?? {};
      blocks.push({
        line: i + 1,
        mode,
        prelude,
        code: body.join('\n'),
        ...(reason ? { reason } : {}),
      });
    } else if (annotation) {
      throw new Error(`line ${i + 1}: a ts-check annotation above a \`${lang}\` block`);
    }
    i = close;
  }
  lines.forEach((line, index) => {
    if (ANNOTATION.test(line) && !annotated.has(index)) {
      throw new Error(`line ${index + 1}: a ts-check annotation that no TypeScript block follows`);
    }
  });
  return blocks;
}

/** A checkable file for a block: its text, and the line of the file where the block starts. */
export function blockSource(block: CodeBlock): { text: string; firstLine: number } {
  const prelude = block.prelude ? `${block.prelude}\n` : '';
  const before = prelude.split('\n').length - 1;
  switch (block.mode) {
    case 'module':
      // `export {}` makes a block without imports a module too: blocks never share a scope.
      return { text: `${prelude}${block.code}\nexport {};\n`, firstLine: before + 1 };
    case 'fragment':
      return {
        text: `${prelude}export async function fragment() {\n${block.code}\n}\n`,
        firstLine: before + 2,
      };
    case 'script':
      return { text: `${prelude}${block.code}\n`, firstLine: before + 1 };
    case 'skip':
      return { text: '', firstLine: 1 };
    default:
      return block.mode satisfies never;
  }
}

/** GitHub's anchor of a heading's text (lower case, punctuation dropped, spaces to hyphens). */
export function headingAnchor(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of every heading of `markdown` (outside code blocks), duplicates numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const open = FENCE.exec(line);
    if (open) {
      if (fence === undefined) fence = open[2];
      else if (line.trim().startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = headingAnchor(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every relative link target of `markdown` (`path`, `path#anchor`, `#anchor`), outside code. */
export function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^(\s*)(`{3,})[^\n]*\n[\s\S]*?^\s*\2\s*$/gm, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z+.-]*:/i.test(target));
}
