/**
 * The scratch space cap (`limits.tmpMb`): under bubblewrap the private /tmp is a tmpfs of that
 * size, so a tool cannot fill the host's disk through it. Real bubblewrap, cgroups and Bun.
 */
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { rejectionOf, withRuntime } from '../helpers/runtime.js';
import { CGROUPS, sandboxAvailability } from './harness.js';

const available = await sandboxAvailability();
const MIB = 1024 * 1024;

// Free bytes of the filesystem the host's temp dirs live on.
function hostFree(): number {
  const stats = statfsSync(tmpdir());
  return stats.bavail * stats.bsize;
}

// The bytes the fill-tmp fixture wrote before its write failed (it says so on stderr).
function written(error: Record<string, unknown>): number {
  const stderr = (error['logs'] as { stderr: string }).stderr;
  return Number(/written=(\d+)/.exec(stderr)?.[1]);
}

describe.skipIf(!available.ok)('scratch space (limits.tmpMb)', () => {
  let baselineFds = 0;
  beforeEach(() => {
    baselineFds = openFds();
  });
  afterEach(async () => {
    await expectNothingLeft(baselineFds, 5_000);
  });

  test('a tool writing 2 GB into /tmp under the default limits hits resource_limit disk within the cap, and the host disk never notices', async () => {
    await withRuntime({ sandbox: 'bwrap' }, async (runtime) => {
      const before = hostFree();
      let lowest = before;
      const sampler = setInterval(() => {
        lowest = Math.min(lowest, hostFree());
      }, 2);
      let error: Record<string, unknown>;
      try {
        error = await rejectionOf(
          runtime.executeToolWithTimeout({ toolPath: 'fill-tmp.ts', input: { mb: 2000 } }),
        );
      } finally {
        clearInterval(sampler);
      }
      lowest = Math.min(lowest, hostFree());
      const cap = DEFAULT_LIMITS.tmpMb * MIB;
      console.info(
        `scratch: wrote ${written(error)} bytes before the cap (${cap}); host free space dropped ` +
          `by at most ${before - lowest} bytes while it ran`,
      );
      expect(error).toMatchObject({
        kind: ErrorKind.ResourceLimit,
        limit: 'disk',
        toolId: 'fill-tmp',
      });
      expect(error['message']).toContain(`${DEFAULT_LIMITS.tmpMb} MiB in /tmp`);
      expect(error['message']).toContain('ENOSPC');
      expect(written(error)).toBeGreaterThan(0);
      expect(written(error)).toBeLessThanOrEqual(cap);
      // Other work on this machine writes too; the tool's 2 GB alone would be 30 times the cap.
      expect(before - lowest).toBeLessThan(cap);
    });
  }, 60_000);

  // A memory cgroup charges the tmpfs's pages; RLIMIT_DATA (no cgroup) does not: there the
  // private /tmp is bounded by tmpMb alone.
  test.runIf(CGROUPS)(
    'a call can lower the cap; the tmpfs pages count toward memoryMb, which bounds a larger tmpMb',
    async () => {
      await withRuntime(
        {
          sandbox: 'bwrap',
          defaults: { limits: { tmpMb: 400, memoryMb: 128 } },
        },
        async (runtime) => {
          const lowered = await rejectionOf(
            runtime.executeToolWithTimeout({ toolPath: 'fill-tmp.ts', limits: { tmpMb: 8 } }),
          );
          expect(lowered).toMatchObject({ kind: ErrorKind.ResourceLimit, limit: 'disk' });
          expect(written(lowered)).toBeLessThanOrEqual(8 * MIB);
          const memory = await rejectionOf(
            runtime.executeToolWithTimeout({ toolPath: 'fill-tmp.ts', input: { mb: 300 } }),
          );
          expect(memory).toMatchObject({ kind: ErrorKind.OutOfMemory, limit: 'memory' });
          const fits = await runtime.executeToolWithTimeout({
            toolPath: 'fill-tmp.ts',
            input: { mb: 4 },
          });
          expect(fits.output).toBe(4 * MIB);
          expect(fits.enforcement.tmp).toEqual({ mechanism: 'tmpfs', limitMb: 400 });
        },
      );
    },
    60_000,
  );

  test("sandbox: 'none' says that it does not enforce the cap", async () => {
    await withRuntime({ sandbox: 'none' }, async (runtime) => {
      const result = await runtime.executeToolWithTimeout({
        toolPath: 'fill-tmp.ts',
        input: { mb: 1 },
      });
      expect(result.enforcement.tmp).toEqual({ mechanism: 'none' });
    });
  });
});
