/**
 * The documentation holds: every TypeScript block of README.md and docs/*.md compiles under
 * `strict` (NodeNext, as a user's project imports the built package), and every relative link
 * of them leads to a file of the repository and, with an anchor, to a heading of it.
 *
 * One `tsc` run checks every block (one per block took minutes): each block is a file of a
 * temporary project whose node_modules/toolcage links to this package (its "exports" and the
 * built dist/) and whose other node_modules entries link to the repository's (`@temporalio/*`,
 * `@opentelemetry/*`, `@types/bun`). How a block that is not a whole module is checked (a
 * fragment, a script, skipped pseudo-code): test/helpers/doc-blocks.ts.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  anchors,
  blockSource,
  relativeLinks,
  typeScriptBlocks,
  type CodeBlock,
} from './helpers/doc-blocks.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const TSC_MS = 240_000;

const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const read = (document: string): string => readFileSync(join(ROOT, document), 'utf8');

interface CheckedBlock extends CodeBlock {
  readonly document: string;
  /** The block's file in the temporary project. */
  readonly file: string;
  /** The file's line where the block's first line is. */
  readonly firstLine: number;
}

const BLOCKS: CheckedBlock[] = DOCUMENTS.flatMap((document) =>
  typeScriptBlocks(read(document)).map((block) => ({
    ...block,
    document,
    file: `${document.replace(/[/.]/g, '_')}_L${block.line}.ts`,
    firstLine: blockSource(block).firstLine,
  })),
);
const CHECKED = BLOCKS.filter((block) => block.mode !== 'skip');

// A block that must fail: proves that the run reads the blocks' files and reports their errors.
const BROKEN = { file: 'self_check_broken.ts', text: "export const n: number = 'a string';\n" };

let project: string;
/** tsc's diagnostics by file (the project's relative path), as `line:col error TSnnnn: …`. */
const diagnostics = new Map<string, string[]>();
let tscExit: number;

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist/index.d.ts')), 'run `npm run build` first').toBe(true);
  project = mkdtempSync(join(tmpdir(), 'tc-docs-'));
  const modules = join(project, 'node_modules');
  mkdirSync(modules);
  symlinkSync(ROOT, join(modules, 'toolcage'));
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry !== 'toolcage' && !entry.startsWith('.')) {
      symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
    }
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  for (const block of CHECKED) writeFileSync(join(project, block.file), blockSource(block).text);
  writeFileSync(join(project, BROKEN.file), BROKEN.text);
  const compilerOptions = {
    strict: true,
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    noEmit: true,
    // The SDKs' own declarations are theirs to check (docs/temporal.md: `ms` under
    // skipLibCheck: false); the blocks are what is checked here.
    skipLibCheck: true,
    types: ['node', 'bun'],
    // A file is a module when it imports or exports (every block but a script gets `export {}`):
    // under NodeNext's default, even a script's `declare module 'ms'` became an augmentation.
    moduleDetection: 'legacy',
  };
  const files = [...CHECKED.map((block) => block.file), BROKEN.file];
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      process.execPath,
      [TSC, '-p', project, '--pretty', 'false'],
      { timeout: TSC_MS, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const exit = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code: exit, out: `${stdout}${stderr}` });
      },
    );
  });
  tscExit = code;
  // `file(line,col): error TSnnnn: message`, continuation lines indented.
  let current: string[] | undefined;
  for (const line of out.split('\n')) {
    const diagnostic = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line);
    if (diagnostic) {
      const [, file = '', row, column, message] = diagnostic;
      const key = relative(project, join(project, file));
      current = diagnostics.get(key) ?? [];
      diagnostics.set(key, current);
      current.push(`${row}:${column} ${message}`);
    } else if (line.trim() && current) {
      current.push(line);
    } else if (line.trim()) {
      diagnostics.set('(tsc)', [...(diagnostics.get('(tsc)') ?? []), line]);
    }
  }
}, TSC_MS + 30_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

// A file's diagnostics, each line number turned into the document's own.
function errorsOf(block: CheckedBlock): string[] {
  return (diagnostics.get(block.file) ?? []).map((diagnostic) => {
    const at = /^(\d+):(\d+) /.exec(diagnostic);
    if (!at) return diagnostic;
    const inBlock = Number(at[1]) - block.firstLine;
    const where =
      inBlock >= 0
        ? `${block.document}:${block.line + 1 + inBlock}:${at[2]}`
        : `${block.document}:${block.line} (its annotation's declarations, line ${at[1]})`;
    return `${where} ${diagnostic.slice(at[0].length)}`;
  });
}

describe('the TypeScript blocks of the README and docs/', () => {
  test('there are blocks to check, and few are skipped, each with its reason', () => {
    expect(CHECKED.length).toBeGreaterThan(10);
    const skipped = BLOCKS.filter((block) => block.mode === 'skip');
    expect(skipped.length).toBeLessThanOrEqual(3);
    for (const block of skipped) expect(block.reason).toMatch(/\w{3,}/);
  });

  test('the run reports a block that does not compile (a broken block written on purpose)', () => {
    expect(tscExit).not.toBe(0);
    expect(diagnostics.get(BROKEN.file)?.join('\n')).toMatch(/^1:\d+ error TS2322/);
    expect(diagnostics.get('(tsc)') ?? []).toEqual([]);
  });

  test.each(CHECKED.map((block) => [`${block.document}:${block.line}`, block] as const))(
    '%s compiles',
    (_where, block) => {
      expect(errorsOf(block)).toEqual([]);
    },
  );

  test('tsc reported nothing outside the blocks', () => {
    const known = new Set([...CHECKED.map((block) => block.file), BROKEN.file]);
    expect([...diagnostics.keys()].filter((file) => !known.has(file))).toEqual([]);
  });
});

describe('the links of the README and docs/', () => {
  test.each(DOCUMENTS)('every relative link of %s leads to a file and heading', (document) => {
    const broken = relativeLinks(read(document)).filter((link) => {
      const [path = '', anchor] = link.split('#');
      const target = path ? join(dirname(join(ROOT, document)), path) : join(ROOT, document);
      if (!existsSync(target)) return true;
      if (anchor === undefined) return false;
      return !target.endsWith('.md') || !anchors(readFileSync(target, 'utf8')).has(anchor);
    });
    expect(broken).toEqual([]);
  });

  test('the README leads to every document of docs/', () => {
    const linked = new Set(relativeLinks(read('README.md')).map((link) => link.split('#')[0]));
    expect(
      DOCUMENTS.filter((document) => document !== 'README.md' && !linked.has(document)),
    ).toEqual([]);
  });
});
