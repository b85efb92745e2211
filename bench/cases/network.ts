import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { benchRuntime, ms, trivial, type Row } from '../setup.js';
import { interleave, median, timed } from '../stats.js';

const RUNS = 40;
const REQUESTS = 20;

/**
 * The egress proxy of `permissions.net` allow-lists, sandboxed (bwrap):
 * - per request: a tool making 20 sequential requests to a loopback server, timed inside the
 *   tool, through the proxy (an allow-list) vs. straight to it (`net: true`), interleaved;
 * - cold start: the trivial tool in a sandbox with an allow-list (the proxy session, the bound
 *   socket, the worker's forwarder) vs. one without network.
 */
export async function networkRows(): Promise<Row[]> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const network = { hosts: { 'bench.test': '127.0.0.1' }, allowPrivateAddresses: true };
  const tools = {
    trivial: { path: 'ok-sync.ts' },
    sequence: { path: 'net-fetch-sequence.ts' },
  };
  const listed = benchRuntime({
    sandbox: 'bwrap',
    tools,
    network,
    defaults: { permissions: { net: ['bench.test'] } },
  });
  const whole = benchRuntime({ sandbox: 'bwrap', tools, defaults: { permissions: { net: true } } });
  const offline = benchRuntime({ sandbox: 'bwrap', tools });
  try {
    const sequence = async (runtime: ToolRuntime, host: string): Promise<number[]> => {
      const result = await runtime.executeToolWithTimeout<number[]>({
        toolId: 'sequence',
        input: { url: `http://${host}:${port}/`, count: REQUESTS },
      });
      return result.output;
    };
    const proxied: number[] = [];
    const direct: number[] = [];
    await interleave(
      RUNS,
      3,
      async () => {
        proxied.push(...(await sequence(listed, 'bench.test')));
        return 0;
      },
      async () => {
        direct.push(...(await sequence(whole, '127.0.0.1')));
        return 0;
      },
    );
    // The warm-up pairs are in the arrays too: drop them.
    const warm = 3 * REQUESTS;
    const perRequest = median(proxied.slice(warm)) - median(direct.slice(warm));
    const cold = await interleave(
      RUNS,
      3,
      () => timed(() => trivial(listed)),
      () => timed(() => trivial(offline)),
    );
    const ratio = median(cold.a) / median(cold.b);
    return [
      {
        figure: `network: a request through the egress proxy vs direct (${REQUESTS} sequential, median)`,
        measured: ms(median(proxied.slice(warm))),
        baseline: ms(median(direct.slice(warm))),
        value: `+${perRequest.toFixed(2)} ms`,
        target: '≤ +1 ms',
        pass: perRequest <= 1,
      },
      {
        figure: 'network: cold start, allow-list vs no network (sandboxed)',
        measured: ms(median(cold.a)),
        baseline: ms(median(cold.b)),
        value: `${ratio.toFixed(3)}×`,
        target: '≤ 1.15×',
        pass: ratio <= 1.15,
      },
    ];
  } finally {
    await Promise.all([listed.close(), whole.close(), offline.close()]);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
