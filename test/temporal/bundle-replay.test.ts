/**
 * Through the real SDK, without a server: `bundleWorkflowCode` bundles a workflow that uses
 * `proxyToolActivities`, with toolcage's workflow interceptors installed (and refuses one that
 * imports the Node entry); `Worker.runReplayHistory` replays hand-written histories of it —
 * completed, failed, timed out, cancelled — without a nondeterminism error, the interceptor
 * reporting each terminal state, and the metrics recording nothing (replay is never counted).
 */
import { fileURLToPath } from 'node:url';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { WorkflowInfo } from '@temporalio/workflow';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type InjectedSinks,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { beforeAll, describe, expect, test } from 'vitest';
import { createWorkflowMetricsSinks } from '../../src/temporal/sinks.js';
import { workflowInterceptorsPath } from '../../src/temporal/worker.js';
import {
  WORKFLOW_METRICS_SINK,
  type WorkflowMetricsSink,
} from '../../src/temporal/workflow-metric-names.js';
import { WorkflowMetrics } from '../../src/temporal/workflow-metrics.js';
import {
  canceledHistory,
  completedHistory,
  failedHistory,
  nondeterministicHistory,
  timedOutHistory,
} from './histories.js';

const WORKFLOWS = fileURLToPath(new URL('./workflows/tool-pipeline.ts', import.meta.url));
const WRONG_WORKFLOWS = fileURLToPath(
  new URL('./workflows/imports-node-entry.ts', import.meta.url),
);
// Quiet: the refused bundle and the nondeterministic replay log errors on purpose.
const logger = new DefaultLogger('ERROR', () => {});
Runtime.install({
  logger,
  telemetryOptions: { logging: { filter: { core: 'ERROR' }, forward: {} } },
});

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let bundle: WorkflowBundleWithSourceMap;
let bundleMs: number;

beforeAll(async () => {
  const started = performance.now();
  bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS,
    workflowInterceptorModules: [workflowInterceptorsPath],
    logger,
  });
  bundleMs = performance.now() - started;
  console.log(
    `bundleWorkflowCode: ${bundleMs.toFixed(0)} ms, ${(bundle.code.length / 1024).toFixed(0)} KiB`,
  );
}, 120_000);

describe('bundleWorkflowCode', () => {
  test('bundles the workflow with proxyToolActivities and the interceptors, and no Node module', () => {
    expect(bundle.code).toContain('toolPipeline');
    expect(bundle.code).toContain(WORKFLOW_METRICS_SINK);
    expect(bundle.code).toContain('invalid_request'); // the failure table's kinds
    // No toolcage module that touches Node made it in.
    for (const nodeOnly of [
      'node:child_process',
      'node:fs',
      'createToolRuntime',
      'runtime/launcher',
    ]) {
      expect(bundle.code).not.toContain(nodeOnly);
    }
  });

  test("refuses a workflow that imports toolcage's Node entry instead of toolcage/temporal/workflow", async () => {
    await expect(
      bundleWorkflowCode({
        workflowsPath: WRONG_WORKFLOWS,
        workflowInterceptorModules: [workflowInterceptorsPath],
        logger,
      }),
    ).rejects.toThrow(/disallowed modules|Webpack finished with errors/);
  }, 120_000);
});

/** Replays `history` with the sinks a toolcage worker installs; returns what they recorded. */
async function replay(history: unknown) {
  const reader = new TestReader();
  const metrics = new WorkflowMetrics({ meterProvider: new MeterProvider({ readers: [reader] }) });
  const ours = createWorkflowMetricsSinks(metrics)[WORKFLOW_METRICS_SINK];
  // A spy in front of our sink functions, delivered during replay too: it sees what the
  // interceptor reported, while ours must still record nothing.
  const calls: { call: string; replaying: boolean }[] = [];
  const spy: InjectedSinks<{ [WORKFLOW_METRICS_SINK]: WorkflowMetricsSink }> = {
    [WORKFLOW_METRICS_SINK]: {
      started: {
        fn: (info: WorkflowInfo) => {
          calls.push({ call: 'started', replaying: info.unsafe.isReplaying });
          void ours.started.fn(info);
        },
        callDuringReplay: true,
      },
      ended: {
        fn: (info: WorkflowInfo, outcome) => {
          calls.push({ call: `ended:${outcome}`, replaying: info.unsafe.isReplaying });
          void ours.ended.fn(info, outcome);
        },
        callDuringReplay: true,
      },
    },
  };
  await Worker.runReplayHistory(
    { workflowBundle: bundle, sinks: spy, replayName: 'toolcage' },
    history,
  );
  const { resourceMetrics } = await reader.collect();
  const recorded = resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.filter((metric) => metric.dataPoints.length > 0).map((m) => m.descriptor.name),
  );
  return { calls, recorded };
}

describe('Worker.runReplayHistory of hand-written histories', () => {
  test.each([
    ['completed', completedHistory, 'ended:completed'],
    ['failed (a non-retryable tool kind)', failedHistory, 'ended:failed'],
    ['timed out (an activity start-to-close timeout)', timedOutHistory, 'ended:timed_out'],
    ['cancelled (the tool confirmed its cancellation)', canceledHistory, 'ended:canceled'],
  ])('%s: replays deterministically; reported, not recorded', async (_what, history, end) => {
    const { calls, recorded } = await replay(history());
    expect(calls.map((c) => c.call)).toEqual(['started', end]);
    expect(calls.every((c) => c.replaying)).toBe(true);
    expect(recorded).toEqual([]);
  });

  test('with the sinks exactly as a worker installs them (callDuringReplay false): nothing recorded', async () => {
    const reader = new TestReader();
    const metrics = new WorkflowMetrics({
      meterProvider: new MeterProvider({ readers: [reader] }),
    });
    await Worker.runReplayHistory(
      { workflowBundle: bundle, sinks: createWorkflowMetricsSinks(metrics) },
      completedHistory(),
    );
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)).toEqual([]);
  });

  test('a history the workflow does not match is a nondeterminism error (the replay checks)', async () => {
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: bundle, sinks: createWorkflowMetricsSinks(new WorkflowMetrics()) },
        nondeterministicHistory(),
      ),
    ).rejects.toThrow(/[Nn]ondeterminism/);
  });
});
