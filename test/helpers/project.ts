/**
 * A tool project as people lay it out, written fresh for each test: `tools/validate.ts`
 * importing npm packages hoisted to the project's `node_modules` (one CommonJS, one with
 * `package.json` `exports`), a workspace package reached through a symlink, a `tsconfig` paths
 * alias, a JSON import and a relative module — and secrets beside it (`.env` in the project and
 * in `tools/`, a `.git` directory, a key). The packages are tiny stand-ins written here: the
 * tests cannot install from the network.
 *
 * Projects live under /var/tmp, not /tmp: inside the sandbox /tmp is the tool's private
 * directory, so only outside it does a denied read classify as `permission_denied` rather than
 * as a missing file of the tool's own. Not under the worktree either: a tool path with a
 * dot-segment (`.vitest-tmp`) is refused, and the toolcage package's own node_modules would be
 * on the projects' resolution path.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PROJECTS = '/var/tmp/toolcage-test-projects';

/** The secrets the project holds; a test fails if any of them comes back from a tool. */
export const SECRETS = {
  projectEnv: 'sk-project-secret-4242',
  toolEnv: 'sk-tool-secret-4242',
  gitConfig: 'git-credential-secret-4242',
  key: 'PRIVATE-KEY-SECRET-4242',
} as const;

/** A marker the source of `tools/other.ts` holds (another tool's source must stay unreadable). */
export const OTHER_TOOL_MARKER = 'OTHER_TOOL_SOURCE_MARKER_4242';

export interface Project {
  readonly root: string;
  /** Absolute path of a file of the project. */
  path(relative: string): string;
  /** Writes (or overwrites) a file of the project, making its directory. */
  write(relative: string, text: string): string;
  remove(): void;
}

const FILES: Readonly<Record<string, string>> = {
  'package.json': JSON.stringify({
    name: 'weather-tools',
    private: true,
    type: 'module',
    workspaces: ['packages/*'],
  }),
  '.env': `OPENAI_API_KEY=${SECRETS.projectEnv}\n`,
  '.git/config': `[credential]\n\thelper = store ${SECRETS.gitConfig}\n`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: { baseUrl: '.', paths: { '@lib/*': ['src/lib/*'] } },
  }),
  'src/lib/format.ts': 'export const formatCity = (city: string): string => city.toUpperCase();\n',
  // A zod-like validator, CommonJS, hoisted to the project's root.
  'node_modules/zodlet/package.json': JSON.stringify({
    name: 'zodlet',
    version: '3.0.0',
    main: 'index.js',
  }),
  'node_modules/zodlet/index.js': `'use strict';
const fail = (message) => { throw new Error(message); };
exports.string = () => ({ parse: (v) => (typeof v === 'string' && v.length > 0 ? v : fail('expected a non-empty string')) });
exports.number = () => ({ parse: (v) => (Number.isInteger(v) ? v : fail('expected an integer')) });
exports.object = (shape) => ({
  parse: (v) => Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, s.parse(v?.[k])])),
});
`,
  // An ESM package reached only through package.json `exports` (its `main` does not exist).
  'node_modules/datelet/package.json': JSON.stringify({
    name: 'datelet',
    version: '2.0.0',
    type: 'module',
    main: './missing.js',
    exports: { '.': { import: './dist/index.js' }, './format': './dist/format.js' },
  }),
  'node_modules/datelet/dist/index.js':
    'export const addDays = (iso, days) => new Date(Date.parse(iso) + days * 86400000).toISOString().slice(0, 10);\n',
  'node_modules/datelet/dist/format.js': 'export const formatRange = (a, b) => `${a}..${b}`;\n',
  // A workspace package, linked into node_modules as npm does.
  'packages/units/package.json': JSON.stringify({
    name: '@weather/units',
    version: '1.0.0',
    type: 'module',
    main: 'index.ts',
  }),
  'packages/units/index.ts':
    "export const unit = (days: number): string => (days === 1 ? 'day' : 'days');\n",
  'tools/defaults.json': JSON.stringify({ start: '2025-06-01' }),
  'tools/helpers/range.ts': 'export const MAX_DAYS = 14;\n',
  'tools/validate.ts': `import { number, object, string } from 'zodlet';
import { addDays } from 'datelet';
import { formatRange } from 'datelet/format';
import { unit } from '@weather/units';
import { formatCity } from '@lib/format';
import defaults from './defaults.json';
import { MAX_DAYS } from './helpers/range.ts';

const Input = object({ city: string(), days: number() });

export default function validate(input: unknown) {
  const { city, days } = Input.parse(input) as { city: string; days: number };
  if (days > MAX_DAYS) throw new Error(\`at most \${MAX_DAYS} days\`);
  const end = addDays(defaults.start, days);
  return { city: formatCity(city), days: \`\${days} \${unit(days)}\`, range: formatRange(defaults.start, end) };
}
`,
  'tools/.env': `TOOL_SECRET=${SECRETS.toolEnv}\n`,
  'tools/server.key': `-----BEGIN PRIVATE KEY-----\n${SECRETS.key}\n`,
  'tools/notes.txt': 'not a secret\n',
  'tools/other.ts': `// ${OTHER_TOOL_MARKER}\nexport default () => 'other';\n`,
  // Reads a file, relative to the tool's own directory: what a tool might try.
  'tools/reader.ts': `import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export default function reader(input: { path: string }) {
  return readFileSync(join(import.meta.dir, input.path), 'utf8');
}
`,
  'admin/deploy.ts': `// ${OTHER_TOOL_MARKER}\nexport default () => 'deploy';\n`,
};

/** Writes the project; `remove()` it after the test. */
export function makeProject(): Project {
  const root = join(PROJECTS, randomUUID());
  const write = (relative: string, text: string): string => {
    const path = join(root, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  };
  for (const [relative, text] of Object.entries(FILES)) write(relative, text);
  mkdirSync(join(root, 'node_modules/@weather'), { recursive: true });
  symlinkSync('../../packages/units', join(root, 'node_modules/@weather/units'));
  return {
    root,
    path: (relative) => join(root, relative),
    write,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
