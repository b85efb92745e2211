/**
 * Secrets stay out of reach, end to end (real Bun, real bubblewrap): a tool that imports
 * credential files is refused at build time and nothing of them reaches the bundle, the cache or
 * the error; a data import from outside the tool's package needs a grant; and a granted
 * directory shows its data but not the secrets in it, unless a grant names one exactly.
 *
 * Each test makes its own project under /var/tmp (inside the sandbox /tmp is the tool's private
 * directory), with modes that any sandbox uid can read (the sandbox may run as `nobody`).
 */
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { Permissions } from '../../src/sandbox/types.js';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import { rejectionOf } from '../helpers/runtime.js';
import { sandboxAvailability } from '../sandbox/harness.js';

const available = await sandboxAvailability();

let root = '';
let cacheDir = '';
const runtimes: ToolRuntime[] = [];
beforeEach(() => {
  root = join('/var/tmp/toolcage-test-projects', `secrets-${randomUUID()}`);
  cacheDir = `${root}-cache`;
  write('package.json', JSON.stringify({ name: 'secrets-project', type: 'module' }));
});
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
  rmSync(root, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

// Writes a file of the project, its directories 0755 and itself 0644 (whoever runs the sandbox).
function write(relative: string, text: string): string {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  // At least 0755: a directory made writable for the sandbox user (a write grant) stays so.
  for (let dir = dirname(path); dir.startsWith(root); dir = dirname(dir)) {
    chmodSync(dir, statSync(dir).mode | 0o755);
  }
  writeFileSync(path, text);
  chmodSync(path, 0o644);
  return path;
}

function runtime(permissions?: Permissions): ToolRuntime {
  const created = createToolRuntime({
    rootDir: root,
    sandbox: 'bwrap',
    telemetry: false,
    cacheDir,
    ...(permissions === undefined ? {} : { defaults: { permissions } }),
  });
  runtimes.push(created);
  return created;
}

// Every byte the build cache holds, to say no secret was kept there.
function cacheContent(dir = cacheDir): string {
  let all = '';
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return '';
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    all += entry.isDirectory() ? cacheContent(path) : readFileSync(path, 'latin1');
  }
  return all;
}

function everything(value: unknown): string {
  return JSON.stringify(value, Object.getOwnPropertyNames(value ?? {}));
}

const CREDENTIALS = [
  ['.git-credentials', "'text'", 'https://user:ghp_GITCRED4242@github.com'],
  ['.netrc', "'text'", 'machine api.example.com login u password NETRC4242'],
  ['.ssh/id_ed25519', "'text'", '-----BEGIN OPENSSH PRIVATE KEY----- SSHKEY4242'],
  ['.aws/credentials', "'text'", 'aws_secret_access_key = AWSSECRET4242'],
  ['.docker/config.json', "'json'", '{"auths":{"r":{"auth":"DOCKERAUTH4242"}}}'],
  ['.config/gcloud/credentials.db', "'text'", 'GCLOUD4242'],
  ['certs/client.p12', "'text'", 'P12SECRET4242'],
] as const;

describe.skipIf(!available.ok)('secrets at build time (Bun.build, bwrap)', () => {
  test.each(CREDENTIALS)(
    'importing %s is refused; nothing of it reaches the bundle or the error',
    async (file, type, secret) => {
      write(file, secret);
      write(
        'tools/steal.ts',
        `import stolen from '../${file}' with { type: ${type} };\nexport default () => stolen;\n`,
      );
      const error = await rejectionOf(
        runtime().executeToolWithTimeout({ toolPath: 'tools/steal.ts' }),
      );
      expect(error['kind']).toBe(ErrorKind.ToolError);
      const component = file.startsWith('certs/')
        ? 'client.p12'
        : file.startsWith('.config/')
          ? 'gcloud'
          : file.split('/')[0];
      expect(error['message']).toBe(
        `Tool \`steal\` could not be built: tools/steal.ts imports '../${file}', a secret-bearing file (${component}) that a tool may not see; read it at run time with a \`read\` grant instead`,
      );
      expect(everything(error)).not.toContain(secret.slice(-10));
      expect(cacheContent()).not.toContain(secret.slice(-10));
    },
  );

  test('a JSON or text import inside the tool’s package is inlined; one outside it needs a grant', async () => {
    write('tools/data/cities.json', '{"lyon":"LYON-4242"}');
    write('tools/data/motto.txt', 'in-package text');
    // A workspace: the project is the root (the build sees it all), the tool's package `tools`.
    write('package.json', JSON.stringify({ name: 'mono', type: 'module', workspaces: ['tools'] }));
    write('tools/package.json', JSON.stringify({ name: 'tools', type: 'module' }));
    write('shared/limits.json', '{"max":"OUTSIDE-4242"}');
    write(
      'tools/inside.ts',
      "import cities from './data/cities.json';\nimport motto from './data/motto.txt' with { type: 'text' };\nexport default () => ({ cities, motto });\n",
    );
    write(
      'tools/outside.ts',
      "import limits from '../shared/limits.json';\nexport default () => limits;\n",
    );
    const plain = runtime();
    const inside = await plain.executeToolWithTimeout({ toolPath: 'tools/inside.ts' });
    expect(inside.output).toEqual({ cities: { lyon: 'LYON-4242' }, motto: 'in-package text' });

    const refused = await rejectionOf(
      plain.executeToolWithTimeout({ toolPath: 'tools/outside.ts' }),
    );
    expect(refused['kind']).toBe(ErrorKind.ToolError);
    expect(refused['message']).toBe(
      `Tool \`outside\` could not be built: tools/outside.ts imports '../shared/limits.json', a data file outside the tool's package (tools) that it may not read; grant it with \`read\` (permissions.read: ['${join(root, 'shared/limits.json')}'])`,
    );
    expect(everything(refused)).not.toContain('OUTSIDE-4242');
    expect(cacheContent()).not.toContain('OUTSIDE-4242');

    // Granted, it is the tool's to read: inlined. The bundle then serves only calls with the grant.
    const granted = runtime({ read: [join(root, 'shared')] });
    const built = await granted.executeToolWithTimeout({ toolPath: 'tools/outside.ts' });
    expect(built.output).toEqual({ max: 'OUTSIDE-4242' });
    const narrowed = await rejectionOf(
      granted.executeToolWithTimeout({ toolPath: 'tools/outside.ts', permissions: { read: [] } }),
    );
    expect(narrowed['kind']).toBe(ErrorKind.ToolError);
    expect(narrowed['message']).toContain(`it inlines shared/limits.json, a data file outside`);
    expect(everything(narrowed)).not.toContain('OUTSIDE-4242');
    // Another runtime finds the bundle in the cache, and refuses it without the grant.
    const again = await rejectionOf(
      runtime().executeToolWithTimeout({ toolPath: 'tools/outside.ts' }),
    );
    expect(again['message']).toContain('it inlines shared/limits.json');
  });
});

const READER = `import { readFileSync } from 'node:fs';
export default ({ path }: { path: string }) => readFileSync(path, 'utf8');
`;

describe.skipIf(!available.ok)('secrets under grants (bwrap)', () => {
  const SECRETS = {
    '.env': 'ENV-SECRET-4242',
    '.ssh/id_ed25519': 'SSH-KEY-4242',
    '.ssh/known_hosts': 'KNOWN-HOSTS-4242',
    'sub/.aws/credentials': 'AWS-4242',
    'sub/deeper/server.key': 'KEY-4242',
  } as const;

  function grantedDir(): string {
    write('tools/reader.ts', READER);
    write('granted/data.txt', 'plain data');
    for (const [file, secret] of Object.entries(SECRETS)) write(`granted/${file}`, secret);
    // Writable by whoever runs the sandbox (a root manager's is `nobody`).
    chmodSync(join(root, 'granted'), 0o777);
    return join(root, 'granted');
  }

  const read = (created: ToolRuntime, path: string) =>
    created.executeToolWithTimeout({ toolPath: 'tools/reader.ts', input: { path } });

  test.each(['read', 'write'] as const)(
    'a %s grant of a directory shows its data, not its secrets (permission_denied)',
    async (kind) => {
      const dir = grantedDir();
      const created = runtime({ [kind]: [dir] });
      expect((await read(created, join(dir, 'data.txt'))).output).toBe('plain data');
      for (const [file, secret] of Object.entries(SECRETS)) {
        const error = await rejectionOf(read(created, join(dir, file)));
        expect(error['kind'], file).toBe(ErrorKind.PermissionDenied);
        expect(error['message'], file).toContain(`read of ${join(dir, file)}`);
        expect(everything(error), file).not.toContain(secret);
      }
      // A secret made after the first calls is masked at the next one.
      write('granted/sub/.env.local', 'LATE-4242');
      const late = await rejectionOf(read(created, join(dir, 'sub/.env.local')));
      expect(late['kind']).toBe(ErrorKind.PermissionDenied);
      expect(everything(late)).not.toContain('LATE-4242');
    },
  );

  test('a secret is readable when granted by its exact path, and only that one', async () => {
    const dir = grantedDir();
    const env = await read(runtime({ read: [join(dir, '.env')] }), join(dir, '.env'));
    expect(env.output).toBe(SECRETS['.env']);
    // Beside the directory's grant: the key alone, not the rest of .ssh nor the other secrets.
    const key = join(dir, '.ssh/id_ed25519');
    const created = runtime({ read: [dir, key] });
    expect((await read(created, key)).output).toBe(SECRETS['.ssh/id_ed25519']);
    expect((await read(created, join(dir, 'data.txt'))).output).toBe('plain data');
    for (const file of ['.ssh/known_hosts', '.env', 'sub/.aws/credentials']) {
      const error = await rejectionOf(read(created, join(dir, file)));
      expect(error['kind'], file).toBe(ErrorKind.PermissionDenied);
    }
  });

  test('a granted directory too large to check is refused, naming it', async () => {
    const dir = grantedDir();
    const deep = `${dir}/${Array.from({ length: 34 }, (_, i) => `d${i}`).join('/')}`;
    mkdirSync(deep, { recursive: true });
    const error = await rejectionOf(read(runtime({ read: [dir] }), join(dir, 'data.txt')));
    expect(error['kind']).toBe(ErrorKind.SpawnFailed);
    expect(error['message']).toContain(
      `could not be started: a granted directory cannot be checked for secret files: ${dir} is more than 32 directories deep`,
    );
  });
});
