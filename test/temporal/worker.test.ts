/**
 * The worker builder without a server: the Temporal options it builds (slots = the runtime's
 * concurrency, activities, interceptors, sinks, drain time), its argument checks, and that a
 * worker that cannot connect leaves nothing behind. Running against a server is
 * temporal-server.test.ts's job (TEMPORAL_ADDRESS).
 */
import { fileURLToPath } from 'node:url';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createToolRuntime, type ToolRuntime } from '../../src/runtime/runtime.js';
import {
  createToolWorker,
  superviseWorker,
  toolWorkerOptions,
  workflowInterceptorsPath,
} from '../../src/temporal/worker.js';
import { WORKFLOW_METRICS_SINK } from '../../src/temporal/workflow-metric-names.js';
import { WorkflowMetrics } from '../../src/temporal/workflow-metrics.js';
import { launcherProcesses, toolProcesses } from '../helpers/leaks.js';
import { FIXTURES, fixtureRuntime, TEST_SANDBOX } from '../helpers/runtime.js';

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

Runtime.install({ logger: new DefaultLogger('ERROR', () => {}) });

let runtime: ToolRuntime;
beforeAll(() => {
  runtime = fixtureRuntime({ concurrency: 3, tools: { ok: { path: 'ok-sync.ts' } } });
});
afterAll(async () => {
  await runtime.close();
});

describe('toolWorkerOptions', () => {
  test("activity slots are the runtime's concurrency; executeTool, the sinks and the drain time are set", () => {
    const options = toolWorkerOptions(
      { taskQueue: 'tools' },
      runtime,
      new WorkflowMetrics(),
      undefined,
    );
    expect(options.maxConcurrentActivityTaskExecutions).toBe(3);
    expect(options.taskQueue).toBe('tools');
    expect(options.namespace).toBe('default');
    expect(Object.keys(options.activities ?? {})).toEqual(['executeTool']);
    expect(options.shutdownGraceTime).toBe(30_000);
    expect(Object.keys(options.sinks ?? {})).toEqual([WORKFLOW_METRICS_SINK]);
    // An activity-only worker (workflows run elsewhere, in any language) loads no interceptor.
    expect(options.interceptors?.workflowModules).toBeUndefined();
    expect(options.workflowsPath).toBeUndefined();
  });

  test('with workflows, the interceptors module is added to the caller’s, and other options pass through', () => {
    const options = toolWorkerOptions(
      {
        taskQueue: 'tools',
        namespace: 'prod',
        workflowsPath: '/app/workflows.js',
        shutdownGraceTimeMs: 5_000,
        workerOptions: {
          identity: 'worker-7',
          interceptors: { workflowModules: ['/app/my-interceptors.js'] },
          sinks: { mine: { log: { fn: () => {} } } },
        },
      },
      runtime,
      new WorkflowMetrics(),
      undefined,
    );
    expect(options.identity).toBe('worker-7');
    expect(options.namespace).toBe('prod');
    expect(options.workflowsPath).toBe('/app/workflows.js');
    expect(options.shutdownGraceTime).toBe(5_000);
    expect(options.interceptors?.workflowModules).toEqual([
      '/app/my-interceptors.js',
      workflowInterceptorsPath,
    ]);
    expect(Object.keys(options.sinks ?? {}).sort()).toEqual([WORKFLOW_METRICS_SINK, 'mine'].sort());
  });

  test('the interceptors module exists where the worker will look for it', async () => {
    const module = (await import(workflowInterceptorsPath)) as { interceptors?: unknown };
    expect(typeof module.interceptors).toBe('function');
  });
});

describe('createToolWorker', () => {
  test.each([
    [{}, 'Expected `taskQueue` to be a string, got `undefined` (undefined)'],
    [{ taskQueue: '' }, 'Expected `taskQueue` to be a non-empty string'],
    [
      { taskQueue: 'q', runtime: {} as ToolRuntime, runtimeOptions: {} },
      'Give `runtime` or `runtimeOptions`, not both',
    ],
    [
      { taskQueue: 'q', address: 'a:1', connection: {} as never },
      'Give `connection` or `address`, not both',
    ],
    [
      { taskQueue: 'q', shutdownGraceTimeMs: -1 },
      'Expected `shutdownGraceTimeMs` to be a non-negative integer',
    ],
    [{ taskQueue: 'q', metricsPrefix: 'bad prefix' }, 'Expected `prefix` to be letters'],
  ])('%j is a TypeError', async (options, message) => {
    await expect(createToolWorker(options as never)).rejects.toThrow(message);
  });

  test('a server that cannot be reached: rejects, closes the runtime it made, counts no worker', async () => {
    const launchers = launcherProcesses().length;
    const reader = new TestReader();
    // Nothing listens on port 1 of the loopback: the connection is refused at once. The
    // runtime prewarms a process for its tool at creation: something to clean up.
    const runtimeOptions = {
      rootDir: FIXTURES,
      sandbox: TEST_SANDBOX,
      prewarm: 1,
      tools: { ok: { path: 'ok-sync.ts' } },
    };
    const error = await createToolWorker({
      taskQueue: 'tools',
      address: '127.0.0.1:1',
      runtimeOptions,
      meterProvider: new MeterProvider({ readers: [reader] }),
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(String(error)).toMatch(/Connection refused|tcp connect error/);
    // A runtime left open would have its prewarmed process (and launcher) up by the time a
    // runtime made after it with the same options has its own: that one is the clock, not a
    // fixed sleep a loaded machine can outrun. Then it is closed, and what is left is not its.
    const clock = createToolRuntime({ ...runtimeOptions, allowAdHocTools: false });
    try {
      await expect
        .poll(() => clock.stats.idleProcesses, {
          message: 'a runtime made after it to prewarm its process',
          timeout: 30_000,
        })
        .toBe(1);
    } finally {
      await clock.close();
    }
    // (Other checkouts on this machine may run tools: only this one's count.)
    expect(toolProcesses().filter((line) => line.includes(CHECKOUT))).toEqual([]);
    expect(launcherProcesses().length).toBe(launchers);
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)).toEqual([]);
  });
});

/**
 * A stand-in for Temporal's Worker where no server can be had: its documented state machine
 * (run() resolves after shutdown() once drained, rejects on a fatal error; shutdown() throws
 * unless RUNNING), so the supervision around it can be checked. The real one runs in
 * temporal-server.test.ts.
 */
class StandInWorker {
  state: 'INITIALIZED' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED' = 'INITIALIZED';
  #end: { resolve: () => void; reject: (error: Error) => void } | undefined;
  getState() {
    return this.state;
  }
  run(): Promise<void> {
    if (this.state !== 'INITIALIZED')
      return Promise.reject(new Error('Poller was already started'));
    this.state = 'RUNNING';
    return new Promise<void>((resolve, reject) => {
      this.#end = { resolve, reject };
    });
  }
  shutdown(): void {
    if (this.state !== 'RUNNING') throw new Error(`Not running. Current state: ${this.state}`);
    this.state = 'STOPPING';
    setTimeout(() => {
      this.state = 'STOPPED';
      this.#end?.resolve();
    }, 10);
  }
  fail(error: Error): void {
    this.state = 'FAILED';
    this.#end?.reject(error);
  }
}

describe('superviseWorker: the gauges and the cleanup around run() and shutdown()', () => {
  async function gauges({ reader, metrics }: { reader: TestReader; metrics: WorkflowMetrics }) {
    const { resourceMetrics } = await reader.collect();
    const value = (name: string) =>
      resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .find((metric) => metric.descriptor.name === name)?.dataPoints[0]?.value;
    return {
      running: value(metrics.names.workersRunning),
      configured: value(metrics.names.workersConfigured),
    };
  }

  function supervised() {
    const reader = new TestReader();
    const metrics = new WorkflowMetrics({
      meterProvider: new MeterProvider({ readers: [reader] }),
      // Its own prefix: the configured count is per process and prefix.
      prefix: `sup_${Math.random().toString(36).slice(2, 8)}`,
    });
    metrics.workerConfigured(); // as createToolWorker does once the worker is built
    const worker = new StandInWorker();
    let cleanups = 0;
    const supervisor = superviseWorker(worker, runtime, metrics, () => {
      cleanups++;
      return Promise.resolve();
    });
    return { reader, metrics, worker, supervisor, cleanups: () => cleanups };
  }

  test('run, then shutdown: running 1 then 0, configured 1 then 0, one cleanup after the drain', async () => {
    const { supervisor, cleanups, ...sup } = supervised();
    const running = supervisor.run();
    expect(await gauges(sup)).toEqual({ running: 1, configured: 1 });
    await supervisor.shutdown();
    await running;
    expect(await gauges(sup)).toEqual({ running: 0, configured: 0 });
    expect(cleanups()).toBe(1);
    await supervisor.shutdown(); // idempotent
    expect(cleanups()).toBe(1);
  });

  test('a worker that fails: run() rejects, running 0 but still configured, cleaned up once', async () => {
    const { worker, supervisor, cleanups, ...sup } = supervised();
    const running = supervisor.run();
    worker.fail(new Error('connection lost'));
    await expect(running).rejects.toThrow('connection lost');
    expect(await gauges(sup)).toEqual({ running: 0, configured: 1 });
    expect(cleanups()).toBe(1);
    await supervisor.shutdown();
    expect(await gauges(sup)).toEqual({ running: 0, configured: 0 });
    expect(cleanups()).toBe(1);
  });

  test('shutdown before run: cleaned up, unconfigured, and run() refuses', async () => {
    const { supervisor, cleanups, ...sup } = supervised();
    await supervisor.shutdown();
    expect(cleanups()).toBe(1);
    expect((await gauges(sup)).configured).toBe(0);
    await expect(supervisor.run()).rejects.toThrow('This worker was shut down');
  });

  test('run() twice is refused', async () => {
    const { supervisor } = supervised();
    const running = supervisor.run();
    await expect(supervisor.run()).rejects.toThrow('This worker is already running');
    await supervisor.shutdown();
    await running;
  });
});
