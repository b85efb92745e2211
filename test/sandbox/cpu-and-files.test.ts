/**
 * The limits a hostile tool tried to get around: a CPU quota for the whole execution (threads
 * and all, `limits.cpus`), `cpuSeconds` across the processes of a tool with `run` (RLIMIT_CPU
 * bounds each one), and the descriptors a tool may hold (`maxOpenFiles`). Real bwrap, real Bun.
 */
import { describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import {
  CAPABILITIES,
  CGROUPS,
  failure,
  output,
  runFixture,
  sandboxAvailability,
  SPAWN_WAYS,
} from './harness.js';

const available = (await sandboxAvailability()).ok;

describe.runIf(available).each(SPAWN_WAYS)('CPU and descriptor limits, %s spawn', (way) => {
  test.runIf(CGROUPS && CAPABILITIES.cgroup.cpu)(
    'limits.cpus bounds a tool spinning four threads',
    async () => {
      const run = await runFixture(way, 'sandbox-cpu-threads.ts', {
        input: { threads: 4, ms: 1_500 },
        limits: { cpus: 0.5 },
      });
      const seen = output(run) as { cpuMs: number; wallMs: number };
      // Four spinning threads would take both cores (2.0); the quota holds them to half of one.
      // Slack for the CFS period at the edges of a short run.
      expect(seen.cpuMs / seen.wallMs).toBeLessThanOrEqual(0.65);
      if (run.ok) expect(run.enforcement.cpus).toMatchObject({ cpus: 0.5 });
    },
  );

  test.runIf(CGROUPS)(
    'cpuSeconds bounds the execution, not each process: six spinning children stop at 1 CPU second',
    async () => {
      const started = performance.now();
      const run = await runFixture(way, 'sandbox-cpu-children.ts', {
        input: { children: 6 },
        permissions: { run: true },
        limits: { cpuSeconds: 1 },
        timeoutMs: 20_000,
      });
      const error = failure(run);
      expect(error.kind).toBe(ErrorKind.ResourceLimit);
      expect(error).toMatchObject({ limit: 'cpu' });
      // Each child alone could spin for a second of its own: the sum ends it long before the
      // deadline (1 CPU second spread over at most 2 cores, plus the watch's period and load).
      expect(performance.now() - started).toBeLessThan(15_000);
    },
  );

  test('maxOpenFiles bounds the descriptors of a tool', async () => {
    const run = await runFixture(way, 'sandbox-open-files.ts', {
      input: { count: 5_000 },
      limits: { maxOpenFiles: 100 },
    });
    const seen = output(run) as { opened: number; refused: string | undefined };
    expect(seen.refused).toBe('EMFILE');
    expect(seen.opened).toBeLessThan(100);
    if (run.ok) expect(run.enforcement.openFiles).toEqual({ mechanism: 'rlimit', limit: 100 });
  });
});
