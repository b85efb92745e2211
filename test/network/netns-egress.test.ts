/**
 * `allowPrivateAddresses` end to end, proxy and all, for the one address class no test may reach:
 * link-local (cloud metadata). The proxy runs in netns-egress.run.ts inside `unshare -rn`, a
 * network namespace with nothing but a loopback that is down: an admitted connection to
 * 169.254.169.254 fails there with ENETUNREACH (a 502), a refused one never starts (a 403).
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { NetnsReply } from './netns-egress.run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./netns-egress.run.ts', import.meta.url));
const VITE_NODE = `${ROOT}node_modules/vite-node/vite-node.mjs`;

// An unprivileged user namespace that may own a network namespace (`unshare -rn`).
function netnsProblem(): string | undefined {
  try {
    execFileSync('unshare', ['-rn', 'true'], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

const problem = netnsProblem();
const requireAll = process.env['TOOLCAGE_REQUIRE_ALL'] === '1';
if (problem !== undefined && !requireAll) {
  console.warn(
    `\n*** SKIPPED: the egress proxy in an empty network namespace — \`unshare -rn\` failed ` +
      `(${problem}). Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure. ***\n`,
  );
}

// Skipped (and reported so) unless TOOLCAGE_REQUIRE_ALL=1, where it fails the run.
test.runIf(requireAll)('unshare -rn works (required when TOOLCAGE_REQUIRE_ALL=1)', () => {
  expect(problem, '`unshare -rn` (TOOLCAGE_REQUIRE_ALL=1)').toBeUndefined();
});

describe.skipIf(problem !== undefined)('the egress proxy in an empty network namespace', () => {
  test('`true` refuses link-local; only a block of link-local addresses admits it', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        'unshare',
        ['-rn', process.execPath, VITE_NODE, SCRIPT],
        { cwd: ROOT, timeout: 30_000 },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    const replies = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<
      string,
      NetnsReply
    >;
    expect(replies['trueByName']).toMatchObject({
      status: 403,
      denied:
        'resolves to 169.254.169.254, a link-local address (`allowPrivateAddresses: true` never admits one; list its block)',
    });
    expect(replies['trueMapped']).toMatchObject({
      status: 403,
      denied: expect.stringContaining('::ffff:a9fe:a9fe is a link-local address') as string,
    });
    expect(replies['wideBlock']).toMatchObject({
      status: 403,
      denied: expect.stringContaining('only a block of link-local addresses') as string,
    });
    // Admitted: the proxy connected, and the empty namespace had no route.
    expect(replies['explicitBlock']).toEqual({
      status: 502,
      denied: undefined,
      body: 'connect to meta.test failed: ENETUNREACH\n',
    });
  });
});
