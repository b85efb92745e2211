/**
 * Against a real Temporal server, when there is one (`TEMPORAL_ADDRESS`, e.g. `temporal server
 * start-dev` → 127.0.0.1:7233): two workers on one task queue run 50 tool executions of a
 * workflow between them (both take work), a cancelled workflow leaves no process, and the seed's
 * metrics and toolcage's arrive from both. No server can be had on the machines this project is
 * built on (the SDK's test server is downloaded at run time), so without TEMPORAL_ADDRESS these
 * tests skip — loudly, and in CI too.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
} from '@opentelemetry/sdk-metrics';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createToolWorker, type ToolWorker } from '../../src/temporal/worker.js';
import { toolProcesses } from '../helpers/leaks.js';
import { FIXTURES, TEST_SANDBOX } from '../helpers/runtime.js';
import { until } from '../helpers/until.js';

const address = process.env['TEMPORAL_ADDRESS']?.trim() || undefined;
const namespace = process.env['TEMPORAL_NAMESPACE']?.trim() || 'default';
if (address === undefined) {
  console.warn(
    '\n*** SKIPPED: test/temporal/temporal-server.test.ts — no Temporal server: set TEMPORAL_ADDRESS ' +
      '(e.g. `temporal server start-dev`, then TEMPORAL_ADDRESS=127.0.0.1:7233). These tests skip ' +
      'without it even when TOOLCAGE_REQUIRE_ALL=1: no server can be obtained offline. ***\n',
  );
}

const WORKFLOWS = fileURLToPath(new URL('./workflows/tool-pipeline.ts', import.meta.url));
const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The sum of a counter's (or a histogram's count's) data points. */
async function total(reader: MetricReader, name: string): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  let sum = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints as DataPoint<unknown>[]) {
        sum +=
          metric.dataPointType === DataPointType.HISTOGRAM
            ? (point.value as { count: number }).count
            : (point.value as number);
      }
    }
  }
  return sum;
}

describe.skipIf(address === undefined)('toolcage workers on a real Temporal server', () => {
  const taskQueue = `toolcage-test-${randomUUID()}`;
  const workers: { worker: ToolWorker; reader: TestReader; running: Promise<void> }[] = [];
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    for (let i = 0; i < 2; i++) {
      const reader = new TestReader();
      const worker = await createToolWorker({
        taskQueue,
        address: address!,
        namespace,
        workflowsPath: WORKFLOWS,
        runtimeOptions: {
          rootDir: FIXTURES,
          sandbox: TEST_SANDBOX,
          concurrency: 2,
          tools: {
            echo: { path: 'ok-sync.ts' },
            upper: { path: 'ok-async.ts' },
            grandchild: { path: 'grandchild.ts', permissions: { run: true } },
          },
        },
        meterProvider: new MeterProvider({ readers: [reader] }),
        shutdownGraceTimeMs: 5_000,
        workerOptions: { identity: `toolcage-test-worker-${i}` },
      });
      workers.push({ worker, reader, running: worker.run() });
    }
    connection = await Connection.connect({ address: address! });
    client = new Client({ connection, namespace });
  }, 120_000);

  afterAll(async () => {
    for (const { worker } of workers) await worker.shutdown();
    await Promise.allSettled(workers.map((w) => w.running));
    await connection?.close();
  }, 60_000);

  test('two workers run 50 tool executions of 25 workflows between them', async () => {
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        client.workflow.execute('toolPipeline', {
          taskQueue,
          workflowId: `toolcage-pipeline-${randomUUID()}`,
          args: [{ text: `hello ${i}` }],
        }),
      ),
    );
    expect(results).toHaveLength(25);
    expect(results[3]).toMatchObject({ first: { echo: { text: 'hello 3' } } });
    const perWorker = await Promise.all(
      workers.map(({ reader }) => total(reader, 'runtime.tool.execute.seconds')),
    );
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(50);
    for (const count of perWorker) expect(count).toBeGreaterThan(0); // both took work
  }, 120_000);

  test('a cancelled workflow kills its tool: no process left', async () => {
    const sleepsBefore = new Set(sleepPids());
    const handle = await client.workflow.start('singleTool', {
      taskQueue,
      workflowId: `toolcage-cancel-${randomUUID()}`,
      args: [{ toolId: 'grandchild', timeoutMs: 60_000 }],
    });
    await until(() => sleepPids().some((pid) => !sleepsBefore.has(pid)), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the tool to start',
    });
    const ours = sleepPids().filter((pid) => !sleepsBefore.has(pid));
    await handle.cancel();
    const error = await handle.result().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    // WAIT_CANCELLATION_COMPLETED: the workflow ended after the worker confirmed the kill.
    expect(sleepPids().filter((pid) => ours.includes(pid))).toEqual([]);
    expect(toolProcesses().filter((line) => line.includes(CHECKOUT))).toEqual([]);
  }, 60_000);

  test("the seed's metrics and toolcage's arrive from both workers", async () => {
    let started = 0;
    for (const { reader } of workers) {
      const fromThis = await total(reader, 'compozy_temporal_workflow_started_total');
      expect(fromThis).toBeGreaterThan(0);
      expect(await total(reader, 'runtime.tool.execute.seconds')).toBeGreaterThan(0);
      expect(await total(reader, 'compozy_temporal_workers_running_total')).toBe(1);
      started += fromThis;
    }
    expect(started).toBe(26); // counted once each, whichever worker ran which task
    const ended = await Promise.all(
      workers.map(async ({ reader }) => ({
        completed: await total(reader, 'compozy_temporal_workflow_completed_total'),
        canceled: await total(reader, 'compozy_temporal_workflow_canceled_total'),
      })),
    );
    expect(ended.reduce((sum, e) => sum + e.completed, 0)).toBe(25);
    expect(ended.reduce((sum, e) => sum + e.canceled, 0)).toBe(1);
  });
});

/** Pids of `sleep 4242` (the grandchild fixture's grandchild). */
function sleepPids(): string[] {
  return toolProcesses()
    .filter((line) => line.includes('sleep 4242'))
    .map((line) => line.slice(0, line.indexOf(':')));
}
