import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ProcessPool, type LaunchSpec } from '../../src/runtime/pool.js';
import type {
  Enforcement,
  LaunchPlan,
  LaunchRequest,
  ResolvedLimits,
  Sandbox,
} from '../../src/sandbox/types.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { ErrorKind } from '../../src/errors/kinds.js';
import { FIXTURES, fixtureRuntime, rejectionOf, withRuntime } from '../helpers/runtime.js';
import { until } from '../helpers/until.js';

let baselineFds: number;
beforeAll(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds);
});

// Pids of this process's tool workers alive right now (Bun, and bwrap around it).
function workerPids(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Every tool process is given the package's bunfig (a bundled tool runs its bundle).
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('--config=')) continue;
      let current = Number(entry);
      for (let depth = 0; depth < 8 && current > 1; depth++) {
        const stat = readFileSync(`/proc/${current}/stat`, 'utf8');
        current = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (current === process.pid) pids.add(Number(entry));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface PidCount {
  readonly pid: number;
  readonly instance: string;
  readonly calls: number;
}

describe('prewarmed processes (runtime)', () => {
  test('a prewarmed process serves exactly one execution: no two calls share a process', async () => {
    await withRuntime(
      { prewarm: 2, tools: { counter: { path: 'pid-counter.ts' } } },
      async (runtime) => {
        await expect
          .poll(() => runtime.stats.idleProcesses, { message: 'the pool to fill', timeout: 10_000 })
          .toBe(2);
        const results: PidCount[] = [];
        for (let i = 0; i < 6; i++) {
          await expect
            .poll(() => runtime.stats.idleProcesses, { message: 'a refill', timeout: 10_000 })
            .toBe(2);
          const before = workerPids();
          const call = runtime.executeToolWithTimeout<PidCount>({ toolId: 'counter' });
          // Taken from the pool as the call starts (the refill waits until this process is gone).
          await new Promise((resolve) => setImmediate(resolve));
          expect(runtime.stats.idleProcesses).toBe(1);
          const result = await call;
          // Unsandboxed, the tool's pid is a host pid: it was running before the call.
          if (result.enforcement.sandbox === 'none')
            expect(before.has(result.output.pid)).toBe(true);
          results.push(result.output);
        }
        const concurrent = await Promise.all(
          Array.from({ length: 6 }, () =>
            runtime.executeToolWithTimeout<PidCount>({ toolId: 'counter' }),
          ),
        );
        results.push(...concurrent.map((result) => result.output));
        expect(results.every((result) => result.calls === 1)).toBe(true);
        expect(new Set(results.map((result) => result.instance)).size).toBe(results.length);
      },
    );
  });

  test('the environment travels with the request, not with the prewarmed process', async () => {
    await withRuntime(
      { prewarm: 1, tools: { env: { path: 'env-reader.ts' } } },
      async (runtime) => {
        await expect
          .poll(() => runtime.stats.idleProcesses, { message: 'the pool to fill', timeout: 10_000 })
          .toBe(1);
        const first = await runtime.executeToolWithTimeout<Record<string, unknown>>({
          toolId: 'env',
          input: { names: ['GREETING'] },
          env: { GREETING: 'one' },
        });
        await expect
          .poll(() => runtime.stats.idleProcesses, { message: 'a refill', timeout: 10_000 })
          .toBe(1);
        const second = await runtime.executeToolWithTimeout<Record<string, unknown>>({
          toolId: 'env',
          input: { names: ['GREETING'] },
          env: { GREETING: 'two' },
        });
        expect(JSON.stringify(first.output)).toContain('one');
        expect(JSON.stringify(second.output)).toContain('two');
        expect(JSON.stringify(second.output)).not.toContain('one');
      },
    );
  });

  test('idle processes are retired after prewarmIdleMs and nothing of them is left', async () => {
    await withRuntime(
      {
        prewarm: 2,
        prewarmIdleMs: 300,
        tools: { counter: { path: 'pid-counter.ts' } },
      },
      async (runtime) => {
        await expect
          .poll(() => runtime.stats.idleProcesses, { message: 'the pool to fill', timeout: 10_000 })
          .toBe(2);
        const warm = workerPids();
        expect(warm.size).toBeGreaterThanOrEqual(2); // bwrap and Bun, under the sandbox
        await expect
          .poll(() => runtime.stats.idleProcesses, { message: 'idle retirement', timeout: 5_000 })
          .toBe(0);
        await expect
          .poll(() => [...warm].filter(alive), {
            message: 'the retired processes to be gone',
            timeout: 5_000,
          })
          .toEqual([]);
        // A call after retirement still works (cold), and the profile is warmed again after it.
        const result = await runtime.executeToolWithTimeout<PidCount>({ toolId: 'counter' });
        expect(result.output.calls).toBe(1);
        await expect
          .poll(() => runtime.stats.idleProcesses, {
            message: 'the refill after a call',
            timeout: 10_000,
          })
          .toBe(2);
      },
    );
  });

  test('a tool registered with preload is imported before its request, without the request’s env', async () => {
    interface Probe {
      readonly loadedAt: number;
      readonly greetingAtLoad: string | null;
      readonly greetingAtCall: string | null;
    }
    const options = {
      prewarm: 1,
      tools: {
        early: { path: 'preload-probe.ts', preload: true },
        late: { path: 'preload-probe.ts' },
        broken: { path: 'throws-on-load.ts', preload: true },
        unbuildable: { path: 'failed-import.ts', preload: true },
      },
    };
    await withRuntime(options, async (runtime) => {
      await expect
        .poll(() => runtime.stats.idleProcesses, {
          message: 'three profiles to fill',
          timeout: 10_000,
        })
        .toBe(3);
      // The preloading process's import is done once the probe's file is in its working
      // directory (preload-probe.ts); no other process of this runtime has evaluated it.
      await until(
        () => [...workerPids()].some((pid) => existsSync(`/proc/${pid}/cwd/preload-probe.loaded`)),
        { timeoutMs: 10_000, what: 'the preloaded module to be evaluated' },
      );
      const calledAt = Date.now();
      const early = await runtime.executeToolWithTimeout<Probe>({
        toolId: 'early',
        env: { GREETING: 'hi' },
      });
      const late = await runtime.executeToolWithTimeout<Probe>({
        toolId: 'late',
        env: { GREETING: 'hi' },
      });
      expect(early.output.loadedAt).toBeLessThan(calledAt);
      expect(early.output).toMatchObject({ greetingAtLoad: null, greetingAtCall: 'hi' });
      expect(late.output.loadedAt).toBeGreaterThanOrEqual(calledAt);
      expect(late.output).toMatchObject({ greetingAtLoad: 'hi', greetingAtCall: 'hi' });
      // A module that fails to load ahead of time fails its call as a load error.
      const error = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'broken' }));
      expect(error['kind']).toBe(ErrorKind.ToolError);
      expect(error['message']).toContain('this module fails as it loads');
      // One that cannot be built is never warmed (three profiles, not four): its call fails
      // with the build's error.
      const unbuilt = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'unbuildable' }));
      expect(unbuilt['kind']).toBe(ErrorKind.ToolError);
      expect(unbuilt['message']).toContain("Cannot resolve 'definitely-not-installed-package-xyz'");
    });
  });

  test('close() drains the pool: no process, temp dir or cgroup is left', async () => {
    const runtime = fixtureRuntime({
      prewarm: 2,
      tools: {
        a: { path: 'pid-counter.ts' },
        b: { path: 'ok-sync.ts' },
        c: { path: 'pid-counter.ts', limits: { maxOutputBytes: 4096 } },
      },
    });
    await expect
      .poll(() => runtime.stats.idleProcesses, {
        message: 'three profiles to fill',
        timeout: 10_000,
      })
      .toBe(6);
    // A call whose refill is under way while close() runs.
    await runtime.executeToolWithTimeout({ toolId: 'a' });
    await runtime.close();
    expect(runtime.stats.idleProcesses).toBe(0);
    expect(workerPids().size).toBe(0);
  });
});

// A sandbox that launches a shell waiting for one line on stdin (a real process that waits like a
// prewarmed worker; its marker argument lets the leak check see it) and remembers the request
// each plan was prepared for.
function recordingSandbox(): {
  sandbox: Sandbox;
  requests: Map<LaunchPlan, LaunchRequest>;
  disposed: Set<LaunchPlan>;
} {
  const requests = new Map<LaunchPlan, LaunchRequest>();
  const disposed = new Set<LaunchPlan>();
  const sandbox: Sandbox = {
    prepare(request) {
      const plan: LaunchPlan = {
        file: '/bin/sh',
        args: ['-c', 'read -r _ || true', 'toolcage-fixture-marker'],
        env: {},
        cwd: tmpdir(),
        enforcement: {} as Enforcement,
        confinement: { rlimits: [] },
        fallback: { file: '/bin/sh', args: ['-c', 'read -r _ || true', 'toolcage-fixture-marker'] },
        materialize: () => {},
        terminate() {},
        killAll() {},
        killsAll: false,
        inspect: () => Promise.resolve({ memoryExceeded: false, processesExceeded: false }),
        dispose: () => {
          disposed.add(plan);
          return Promise.resolve();
        },
      };
      requests.set(plan, request);
      return Promise.resolve(plan);
    },
    sweep: () => Promise.resolve({ tempDirs: [], cgroups: [] }),
    settled: () => Promise.resolve(),
  };
  return { sandbox, requests, disposed };
}

const LIMITS: ResolvedLimits = { ...DEFAULT_LIMITS, maxOutputBytes: 1024, maxLogBytes: 1024 };

function spec(overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  const toolPath = overrides.toolPath ?? `${FIXTURES}ok-sync.ts`;
  return {
    toolPath,
    view: { kind: 'bundle', file: toolPath, source: toolPath },
    permissions: { read: [], write: [], net: false, env: [], run: false },
    limits: LIMITS,
    ...overrides,
  };
}

function pool(
  sandbox: Sandbox,
  options: { prewarm?: number; idleMs?: number; maxProfiles?: number } = {},
): ProcessPool {
  return new ProcessPool({
    sandbox,
    mode: 'none',
    bunPath: '/bin/sh',
    bunArgs: [],
    runtimeFiles: [],
    prewarm: options.prewarm ?? 2,
    idleMs: options.idleMs ?? 30_000,
    maxProfiles: options.maxProfiles ?? 8,
  });
}

// Runs `body` with a pool of `sandbox`'s processes, closed whatever happens.
async function withPool(
  sandbox: Sandbox,
  options: Parameters<typeof pool>[1],
  body: (processes: ProcessPool) => Promise<void>,
): Promise<void> {
  const processes = pool(sandbox, options);
  try {
    await body(processes);
  } finally {
    await processes.close();
  }
}

describe('ProcessPool', () => {
  test('never hands a process to a request of another profile', async () => {
    const { sandbox, requests } = recordingSandbox();
    const narrow = spec();
    const wide = spec({
      permissions: { read: ['/data'], write: [], net: true, env: [], run: false },
    });
    const lowLimit = spec({ limits: { ...LIMITS, memoryMb: 128 } });
    const otherTool = spec({ toolPath: `${FIXTURES}pid-counter.ts` });
    await withPool(sandbox, {}, async (processes) => {
      for (const profile of [narrow, wide, lowLimit, otherTool]) processes.warm(profile);
      await expect
        .poll(() => processes.idleCount, { message: 'four profiles to fill', timeout: 10_000 })
        .toBe(8);
      const prepared = requests.size;
      for (const profile of [wide, narrow, otherTool, lowLimit, narrow, wide]) {
        const launched = await processes.launch('call', profile);
        // Taken from the pool (nothing new prepared on the call's path) and of its own profile.
        const request = requests.get(launched.plan)!;
        expect(request.toolPath).toBe(profile.toolPath);
        expect(request.permissions).toEqual(profile.permissions);
        expect(request.limits).toEqual(profile.limits);
        launched.child.stdin.end();
        await launched.child.closed;
        await launched.plan.dispose();
      }
      expect(requests.size - prepared).toBeLessThanOrEqual(6); // only refills, started after each call
    });
  });

  test('refills in the background once the taken process is gone, bounded by `prewarm`', async () => {
    const { sandbox, requests } = recordingSandbox();
    await withPool(sandbox, { prewarm: 2 }, async (processes) => {
      processes.warm(spec());
      processes.warm(spec()); // warming twice does not start more than `prewarm`
      await expect
        .poll(() => processes.idleCount, { message: 'the pool to fill', timeout: 10_000 })
        .toBe(2);
      expect(requests.size).toBe(2);
      const launched = await processes.launch('call', spec());
      expect(processes.idleCount).toBe(1);
      // Not refilled while the taken process still runs: an absence, so a wait, not a poll.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(requests.size).toBe(2);
      launched.child.stdin.end();
      await launched.child.closed;
      await launched.plan.dispose();
      await expect
        .poll(() => processes.idleCount, { message: 'the refill', timeout: 10_000 })
        .toBe(2);
      expect(requests.size).toBe(3);
    });
  });

  test('retires idle processes after idleMs and disposes their plans', async () => {
    const { sandbox, requests, disposed } = recordingSandbox();
    await withPool(sandbox, { prewarm: 2, idleMs: 150 }, async (processes) => {
      processes.warm(spec());
      await expect
        .poll(() => processes.idleCount, { message: 'the pool to fill', timeout: 10_000 })
        .toBe(2);
      await expect
        .poll(() => processes.idleCount, { message: 'retirement', timeout: 3_000 })
        .toBe(0);
      await expect
        .poll(() => disposed.size, { message: 'the plans to be disposed', timeout: 3_000 })
        .toBe(2);
      expect([...requests.keys()].every((plan) => disposed.has(plan))).toBe(true);
    });
  });

  test('keeps at most maxProfiles profiles warm, least recently refilled first out', async () => {
    const { sandbox, disposed } = recordingSandbox();
    await withPool(sandbox, { prewarm: 1, maxProfiles: 2 }, async (processes) => {
      processes.warm(spec({ limits: { ...LIMITS, memoryMb: 100 } }));
      await expect
        .poll(() => processes.idleCount, { message: 'the first profile', timeout: 10_000 })
        .toBe(1);
      processes.warm(spec({ limits: { ...LIMITS, memoryMb: 200 } }));
      await expect
        .poll(() => processes.idleCount, { message: 'the second profile', timeout: 10_000 })
        .toBe(2);
      processes.warm(spec({ limits: { ...LIMITS, memoryMb: 300 } }));
      await expect
        .poll(() => disposed.size, { message: 'the oldest profile to be retired', timeout: 10_000 })
        .toBe(1);
      expect(processes.idleCount).toBe(2);
    });
  });

  test('close() kills and disposes every idle process, and refills under way', async () => {
    const { sandbox, requests, disposed } = recordingSandbox();
    const processes = pool(sandbox, { prewarm: 3 });
    processes.warm(spec());
    processes.warm(spec({ toolPath: `${FIXTURES}pid-counter.ts` }));
    await processes.close();
    expect(processes.idleCount).toBe(0);
    expect(disposed.size).toBe(requests.size);
    // Warming a closed pool starts nothing.
    processes.warm(spec());
    expect(processes.idleCount).toBe(0);
  });
});
