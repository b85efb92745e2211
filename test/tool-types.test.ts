/**
 * A tool author's types, as an author's project sees them: `tsc` (strict, NodeNext) on a
 * project whose node_modules/toolcage links to this package (its package.json "exports" and the
 * built dist/). The README's tool compiles with `import type { ToolContext } from 'toolcage'`,
 * the import leaves nothing in the emitted JavaScript, and a misuse of the context is an error.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const TSC_MS = 180_000;

// The README's tool, typed.
const TOOL = `import type { Tool, ToolContext } from 'toolcage';

export default async function echo(input: { text: string }, context: ToolContext) {
  context.logger.info('echoing');
  if (context.signal.aborted) return null;
  return { text: input.text, id: \`\${context.toolId}/\${context.executionId}\`, config: context.config };
}

export const next: Tool<{ n: number }, number, { step: number }> = (input, context) =>
  input.n + context.config.step;
`;
const BUN_TOOL = `${TOOL}
export const later = async (): Promise<number> => {
  await Bun.sleep(1);
  return 1;
};
`;
// Each line one misuse.
const WRONG = `import type { Tool, ToolContext } from 'toolcage';

export const a = (input: unknown, context: ToolContext) => context.nope;
export const b: Tool<{ n: number }, number> = (input) => String(input.n);
export const c: Tool = (input, context) => context.toolId.push('x');
`;

let project: string;

// Runs tsc on the project with `options` over `files`; its exit code and diagnostics.
function tsc(
  options: Record<string, unknown>,
  files: Record<string, string>,
): Promise<{ code: number; out: string; dir: string }> {
  const dir = mkdtempSync(join(project, 'case-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const compilerOptions = {
    strict: true,
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    verbatimModuleSyntax: true,
    outDir: 'out',
    // Where an author's `npm install -D @types/bun` puts Bun's types (here: toolcage's own).
    typeRoots: [join(ROOT, 'node_modules/@types')],
    ...options,
  };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions, files: Object.keys(files) }),
  );
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', dir], { timeout: TSC_MS }, (error, stdout) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, out: stdout, dir });
    });
  });
}

beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist/index.d.ts')), 'run `npm run build` first').toBe(true);
  project = mkdtempSync(join(tmpdir(), 'tc-tool-types-'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules/toolcage'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
});
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

describe('types for tool authors', () => {
  test(
    'the README tool compiles with @types/bun; the type import is gone from the JavaScript',
    async () => {
      const result = await tsc({ types: ['bun'], skipLibCheck: true }, { 'tool.ts': BUN_TOOL });
      expect(result.out).toBe('');
      expect(result.code).toBe(0);
      const emitted = readFileSync(join(result.dir, 'out/tool.js'), 'utf8');
      expect(emitted).toContain('export default async function echo');
      expect(emitted).not.toContain('toolcage');
    },
    TSC_MS,
  );

  test(
    'a misuse of the context or of the result type is a compile error',
    async () => {
      const result = await tsc({ types: [], skipLibCheck: true }, { 'wrong.ts': WRONG });
      expect(result.code).not.toBe(0);
      expect(result.out).toMatch(/wrong\.ts\(3,\d+\): error TS2339: Property 'nope'/);
      expect(result.out).toMatch(/wrong\.ts\(4,\d+\): error TS2322/);
      expect(result.out).toMatch(/wrong\.ts\(5,\d+\): error TS2339: Property 'push'/);
    },
    TSC_MS,
  );

  test(
    'toolcage/temporal under skipLibCheck: false: the SDK’s `ms` error, and the declaration in docs/temporal.md that ends it',
    async () => {
      const doc = readFileSync(join(ROOT, 'docs/temporal.md'), 'utf8');
      const shim = /\/\/ types\/ms\.d\.ts[^]*?\n}\n/.exec(doc)?.[0];
      expect(shim, 'docs/temporal.md shows a declaration of `ms`').toBeDefined();
      const temporal = [
        "import { createToolActivities } from 'toolcage/temporal';",
        "import { proxyToolActivities } from 'toolcage/temporal/workflow';",
        "import { activityTestInfo } from 'toolcage/temporal/testing';",
        'export const used = [createToolActivities, proxyToolActivities, activityTestInfo];',
        '',
      ].join('\n');
      const options = { types: ['node'], skipLibCheck: false, noEmit: true };
      const [bare, shimmed] = await Promise.all([
        tsc(options, { 'app.ts': temporal }),
        tsc(options, { 'app.ts': temporal, 'ms.d.ts': shim! }),
      ]);
      expect(bare.out).toMatch(/time\.d\.ts\(\d+,\d+\): error TS7016: .* module 'ms'/);
      expect(shimmed.out).toBe('');
      expect(shimmed.code).toBe(0);
    },
    TSC_MS,
  );

  test(
    "toolcage's own declarations check under skipLibCheck: false",
    async () => {
      const result = await tsc({ types: ['node'], skipLibCheck: false }, { 'tool.ts': TOOL });
      expect(result.out).toBe('');
      expect(result.code).toBe(0);
    },
    TSC_MS,
  );
});
