/**
 * `toolcage run` with a collector that is down: the exporters would retry at exit for up to
 * their export timeout (3 s); the CLI gives its flush RUN_EXIT_FLUSH_MS, warns once, and ends.
 * Measured in the same test against the same run without telemetry, interleaved, medians.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, test, vi } from 'vitest';
import { probeCollectors } from '../../src/cli/collector-probe.js';
import { FIXTURES, TEST_SANDBOX } from '../helpers/runtime.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const RUNS = 5;
const ALLOWED_EXTRA_MS = 500;

interface TimedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function timedRun(env: NodeJS.ProcessEnv): Promise<TimedRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'run', `${FIXTURES}ok-sync.ts`, '--input', '1', '--json', '--sandbox', TEST_SANDBOX],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      },
    );
  });
}

// A loopback port nothing listens on: bound, then closed.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

test(`an unreachable collector adds at most ${ALLOWED_EXTRA_MS} ms to a run, with one warning`, async () => {
  const port = await closedPort();
  const down = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_METRIC_EXPORT_INTERVAL: '60000',
  };
  const without = {
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  };
  // The first run builds the fixture (or finds it in the cache); not measured.
  expect((await timedRun(without)).code).toBe(0);
  const plain: number[] = [];
  const withDown: TimedRun[] = [];
  // Interleaved (A, B, then B, A): both see the same machine at the same moments.
  for (let i = 0; i < RUNS; i++) {
    const pair =
      i % 2 === 0
        ? [await timedRun(without), await timedRun(down)]
        : [await timedRun(down), await timedRun(without)].reverse();
    plain.push(pair[0]!.ms);
    withDown.push(pair[1]!);
  }
  for (const run of withDown) {
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, output: { echo: 1 } });
    const warnings = run.stderr.split('\n').filter((line) => line.includes('telemetry'));
    expect(warnings, run.stderr).toHaveLength(1);
    expect(warnings[0]).toMatch(/^toolcage: telemetry /);
  }
  const extra = median(withDown.map((run) => run.ms)) - median(plain);
  console.log(
    `toolcage run, medians of ${RUNS}: ${median(plain).toFixed(0)} ms without telemetry, +${extra.toFixed(0)} ms with an unreachable collector`,
  );
  expect(extra).toBeLessThanOrEqual(ALLOWED_EXTRA_MS);
}, 120_000);

describe('the collector probe', () => {
  test('a closed port is unreachable, naming the endpoint and the error', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1/traces`;
    const probe = probeCollectors([url]);
    // Nothing is known before the connection's outcome.
    expect(probe.state()).toEqual({ kind: 'unknown' });
    await vi.waitFor(() => expect(probe.state().kind).not.toBe('unknown'));
    expect(probe.state()).toEqual({ kind: 'unreachable', url, reason: 'ECONNREFUSED' });
    probe.close();
  });

  test('a listening collector is reachable; one down among two makes it unreachable', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const up = probeCollectors([
        `http://127.0.0.1:${port}/v1/metrics`,
        `http://127.0.0.1:${port}/v1/traces`,
      ]);
      await vi.waitFor(() => expect(up.state()).toEqual({ kind: 'reachable' }));
      up.close();
      const down = `http://127.0.0.1:${await closedPort()}/v1/traces`;
      const mixed = probeCollectors([`http://127.0.0.1:${port}/v1/metrics`, down]);
      await vi.waitFor(() =>
        expect(mixed.state()).toMatchObject({ kind: 'unreachable', url: down }),
      );
      mixed.close();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('an endpoint that is not http(s) is not probed: unknown', () => {
    expect(probeCollectors(['grpc://127.0.0.1:4317', 'not a url']).state()).toEqual({
      kind: 'unknown',
    });
  });
});
