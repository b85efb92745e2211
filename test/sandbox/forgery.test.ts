/**
 * A tool cannot forge what toolcage vouches for: real tools, real bubblewrap, both ways a process
 * starts. What a tool writes (its error, fd 3, stderr, its exit code) may make it `tool_error`,
 * `invalid_output` or `crashed` — never `spawn_failed`, `internal` or `out_of_memory`, never a
 * grant hint naming what it chose, and never a verdict that tells whether a host path exists.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { openFds } from '../helpers/leaks.js';
import {
  CGROUPS,
  failure,
  FIXTURES,
  runFixture as runThrough,
  sandboxAvailability,
  SPAWN_WAYS,
  type RunOptions,
  expectRunsLeftNothing,
} from './harness.js';

const available = await sandboxAvailability();

describe.skipIf(!available.ok).each(SPAWN_WAYS)('forged failures, %s spawn', (way) => {
  const run = async (fixture: string, options?: RunOptions) =>
    failure(await runThrough(way, fixture, options));
  let baselineFds = 0;
  beforeEach(() => {
    baselineFds = openFds();
  });
  afterEach(async () => {
    await expectRunsLeftNothing(baselineFds);
  });

  test('a made-up EACCES naming /etc/shadow is the tool’s report, with no grant of it', async () => {
    const error = await run('forges-eacces.ts');
    // /etc/shadow is outside the view toolcage built: such a read is refused, whoever tried.
    expect(error.kind).toBe(ErrorKind.PermissionDenied);
    expect(error.message).toBe(
      'Tool `forges-eacces` reported that a read of /etc/shadow was denied (outside its sandbox view); the caller grants reads with permissions.read (--allow-read)',
    );
    expect(error.message).not.toContain('--allow-read /etc/shadow');
    expect(error.denial).toEqual({
      operation: 'read',
      path: '/etc/shadow',
      reason: 'outside its sandbox view',
      observedBy: 'tool',
    });
  });

  test.each([
    ['under /tmp (its own /tmp inside)', 'tmp', ErrorKind.ToolError],
    ['outside the view (the tool’s directory)', 'fixtures', ErrorKind.PermissionDenied],
  ] as const)(
    'a host path %s named in a made-up error: the same verdict whether it exists or not',
    async (_name, where, kind) => {
      const dir = where === 'tmp' ? mkdtempSync('/tmp/forgery-probe-') : undefined;
      try {
        const existing = dir === undefined ? `${FIXTURES}ok-sync.ts` : join(dir, 'exists.txt');
        if (dir !== undefined) writeFileSync(existing, 'a host file');
        const missing = `${existing}.missing`;
        const seen = await run('forges-eacces.ts', { input: { path: existing, code: 'ENOENT' } });
        const unseen = await run('forges-eacces.ts', { input: { path: missing, code: 'ENOENT' } });
        expect([seen.kind, unseen.kind]).toEqual([kind, kind]);
        expect(unseen.message.replace(missing, existing)).toBe(seen.message);
      } finally {
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test('a `protocol` failure the tool wrote on fd 3 is invalid_output, not internal', async () => {
    const error = await run('forges-protocol-error.ts');
    expect(error.kind).toBe(ErrorKind.InvalidOutput);
    expect(error.message).toContain('the worker could not read its request');
  });

  test.each([
    ['the prologue’s', undefined, 125],
    ['bwrap’s', "bwrap: Can't find source path /x: No such file or directory", 1],
  ])('%s failure line on stderr is a crash, not spawn_failed', async (_name, line, code) => {
    const error = await run('forges-sandbox-failure.ts', {
      input: line === undefined ? { code } : { line, code },
    });
    expect(error.kind).toBe(ErrorKind.Crashed);
    expect(error.message).toContain(`exited with code ${code}`);
  });

  test.each([
    ['thrown', 'throw', ErrorKind.ToolError],
    ['printed, then abort', 'stderr', ErrorKind.Crashed],
  ] as const)(
    'Bun’s `RangeError: Out of memory` %s without a cgroup event is no out_of_memory',
    async (_name, how, kind) => {
      const error = await run('forges-oom.ts', { input: { how } });
      expect(error.kind).not.toBe(ErrorKind.OutOfMemory);
      // Without a memory cgroup, RLIMIT_DATA bounds memory and Bun's report of it is all there
      // is: a thrown one is then the caller's own limit (`resource_limit` memory), still no
      // system kind.
      if (!CGROUPS && how === 'throw') {
        expect(error).toMatchObject({ kind: ErrorKind.ResourceLimit, limit: 'memory' });
        return;
      }
      expect(error.kind).toBe(kind);
      expect(error.limit).toBeUndefined();
    },
  );
});
