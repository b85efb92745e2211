/**
 * A launch the sandbox refuses: the sandbox says what it cannot enforce (a SandboxRefusal) and
 * the runtime alone makes the caller's error, with the call's tool id and execution id.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import { createToolRuntimeOn } from '../../src/runtime/runtime.js';
import { SandboxRefusal } from '../../src/sandbox/refusal.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { LaunchRequest, Sandbox } from '../../src/sandbox/types.js';
import { MetricNames } from '../../src/telemetry/names.js';
import { collect, metric, points, testMeterProvider, testTracerProvider } from '../helpers/otel.js';
import { rejectionOf } from '../helpers/runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'refusal-test-'));
// The file's name is not the tool's id: an id guessed from the file would be `beta`.
writeFileSync(join(dir, 'beta.ts'), 'export default () => "never runs";\n');
// A real sandbox over a cgroup filesystem with no controller in it: under bwrap it cannot
// enforce `limits.memoryMb` (or, without bubblewrap, the sandbox itself) on any machine.
const noCgroups = mkdtempSync(join(tmpdir(), 'refusal-cgroups-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(noCgroups, { recursive: true, force: true });
});

// The real sandbox, with the requests it was asked to prepare written down.
function recording(): { sandbox: Sandbox; requests: LaunchRequest[] } {
  const real = createSandbox({ cgroupRoot: noCgroups });
  const requests: LaunchRequest[] = [];
  return {
    requests,
    sandbox: {
      prepare(request) {
        requests.push(request);
        return real.prepare(request);
      },
      sweep: () => real.sweep(),
      settled: () => real.settled(),
    },
  };
}

describe('a launch the sandbox refuses', () => {
  test('rejects with the registered tool id and the call’s execution id, which also names the launch (its cgroups)', async () => {
    const { sandbox, requests } = recording();
    const runtime = createToolRuntimeOn(
      {
        rootDir: dir,
        sandbox: 'bwrap',
        telemetry: false,
        tools: { alpha: { path: 'beta.ts' } },
      },
      sandbox,
    );
    try {
      const first = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'alpha' }));
      const second = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'alpha' }));
      for (const error of [first, second]) {
        expect(error).toMatchObject({ kind: ErrorKind.SpawnFailed, toolId: 'alpha' });
        expect(error['message']).toMatch(
          /^Tool `alpha` could not be started: the sandbox cannot enforce /,
        );
        expect(error['cause']).toBeInstanceOf(SandboxRefusal);
        expect(error['executionId']).toMatch(/^[0-9a-f-]{36}$/);
      }
      // Each call has its own id; what the sandbox refused is the build of the tool's bundle,
      // whose launch is named as a build's (one build serves every call that waits for it).
      expect(first['executionId']).not.toBe(second['executionId']);
      expect(requests).toHaveLength(2);
      for (const request of requests) expect(request.launchId).toMatch(/^build-[0-9a-f-]{36}$/);
    } finally {
      await runtime.close();
    }
  });

  test('the launch of a call is named by the call’s execution id (its cgroups can be matched to an error)', async () => {
    const { sandbox, requests } = recording();
    const runtime = createToolRuntimeOn(
      {
        rootDir: dir,
        sandbox: 'bwrap',
        telemetry: false,
        tools: { alpha: { path: 'beta.ts', bundle: false } },
      },
      sandbox,
    );
    try {
      const first = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'alpha' }));
      const second = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'alpha' }));
      expect(requests.map((request) => request.launchId)).toEqual([
        first['executionId'],
        second['executionId'],
      ]);
    } finally {
      await runtime.close();
    }
  });

  test('a refused call is recorded: its span fails and the error is counted under its kind', async () => {
    const { reader, meterProvider } = testMeterProvider();
    const { exporter, tracerProvider } = testTracerProvider();
    const runtime = createToolRuntimeOn(
      {
        rootDir: dir,
        sandbox: 'bwrap',
        tools: { alpha: { path: 'beta.ts' } },
        meterProvider,
        tracerProvider,
      },
      recording().sandbox,
    );
    try {
      const error = await rejectionOf(runtime.executeToolWithTimeout({ toolId: 'alpha' }));
      expect(error['kind']).toBe(ErrorKind.SpawnFailed);
      expect(error['durationMs']).toBeGreaterThan(0);
      const spans = exporter.getFinishedSpans();
      expect(spans.map((span) => span.attributes['error_kind'])).toEqual(['spawn_failed']);
      const errors = points(metric(await collect(reader), MetricNames.errors));
      expect(errors).toEqual([
        { attributes: { tool_id: 'alpha', error_kind: 'spawn_failed' }, value: 1 },
      ]);
    } finally {
      await runtime.close();
    }
  });

  test('the refusal says what cannot be enforced and why, and makes no user-facing error itself', async () => {
    const refusal = await rejectionOf(
      createSandbox({ cgroupRoot: noCgroups, requireCgroups: true }).prepare({
        launchId: 'pool-id',
        bunPath: '/bin/true',
        bunArgs: [],
        toolPath: join(dir, 'beta.ts'),
        runtimeFiles: [],
        env: {},
        permissions: { read: [], write: [], net: false, env: [], run: false },
        limits: {
          memoryMb: 512,
          cpuSeconds: undefined,
          maxProcesses: 256,
          maxFileSizeMb: 64,
          tmpMb: 64,
          maxOutputBytes: 1024,
          maxLogBytes: 1024,
          maxConnections: 32,
          maxOpenFiles: 1024,
          cpus: undefined,
          maxNetworkMb: 256,
        },
        mode: 'bwrap',
      }),
    );
    expect(refusal).toBeInstanceOf(SandboxRefusal);
    expect(refusal['what']).toMatch(/^(its permissions|`limits\.memoryMb` \(512\) by a cgroup)$/);
    expect(refusal['reason']).not.toBe('');
    expect(refusal).not.toHaveProperty('toolId');
    expect(refusal).not.toHaveProperty('executionId');
  });
});
