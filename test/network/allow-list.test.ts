/**
 * `permissions.net` allow-lists end to end: real bubblewrap, real Bun, the runtime's egress
 * proxy. Every server is on 127.0.0.1 and the test names (allowed.test, denied.test) map there
 * through `network.hosts`: nothing is resolved through DNS or sent anywhere else.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { ToolRuntimeOptions } from '../../src/runtime/runtime-options.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { expectNothingLeft, openFds } from '../helpers/leaks.js';
import { LoopbackServer } from '../helpers/loopback-server.js';
import { fixtureRuntime, rejectionOf } from '../helpers/runtime.js';
import { until } from '../helpers/until.js';
import { BUN, sandboxAvailability } from '../sandbox/harness.js';

const available = await sandboxAvailability();

const HOSTS = { 'allowed.test': '127.0.0.1', 'denied.test': '127.0.0.1' };

/** A loopback HTTP server with a few behaviours, counting its open connections. */
class BehavingServer extends LoopbackServer {
  readonly paths: string[] = [];

  constructor(server: Server) {
    super(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#answer(req, res));
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.paths.push(url.pathname);
    if (url.pathname === '/hang') return;
    if (url.pathname === '/slow') {
      setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms') ?? 500)).unref();
      return;
    }
    if (url.pathname === '/pattern') {
      res.end(pattern(Number(url.searchParams.get('n') ?? 0)));
      return;
    }
    if (url.pathname === '/echo') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      return;
    }
    if (url.pathname === '/bytes') {
      res.end(Buffer.alloc(Number(url.searchParams.get('n') ?? 0), 'x'));
      return;
    }
    res.end(`hello ${url.pathname} via ${req.headers.host ?? '?'}`);
  }
}

// i % 251 for i < n: what net-transfer.ts sends and expects.
function pattern(n: number): Buffer {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = i % 251;
  return bytes;
}

describe.skipIf(!available.ok)('network allow-lists (bwrap, egress proxy)', () => {
  let http: BehavingServer;
  let https: BehavingServer;
  // The host's abstract Unix socket is served by a Bun process: Node 20 binds an abstract name
  // padded with NULs to all 108 bytes of sun_path (strace: bind with addrlen 110), which Bun's
  // connect (exact length; EINVAL for a 108-byte path) can never name.
  let abstractServer: ChildProcessWithoutNullStreams;
  const abstractName = `toolcage-test-${process.pid}`;
  let abstractConnections = 0;
  let baselineFds = 0;
  const runtimes: ToolRuntime[] = [];

  function runtime(options: ToolRuntimeOptions = {}): ToolRuntime {
    const created = fixtureRuntime({
      sandbox: 'bwrap',
      defaults: { permissions: { net: ['allowed.test'] } },
      network: { hosts: HOSTS, allowPrivateAddresses: true },
      ...options,
    });
    runtimes.push(created);
    return created;
  }

  beforeAll(async () => {
    http = await new BehavingServer(createServer()).listen();
    const certs = mkdtempSync(join(tmpdir(), 'allow-list-certs-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=allowed.test',
          '-keyout',
          join(certs, 'key.pem'),
          '-out',
          join(certs, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      https = await new BehavingServer(
        createHttpsServer({
          key: readFileSync(join(certs, 'key.pem')),
          cert: readFileSync(join(certs, 'cert.pem')),
        }),
      ).listen();
    } finally {
      rmSync(certs, { recursive: true, force: true });
    }
    abstractServer = spawn(
      BUN,
      [
        '-e',
        `Bun.listen({ unix: '\\0${abstractName}', socket: { open() { console.log('accepted'); }, data() {} } }); console.log('ready');`,
      ],
      { env: {} },
    );
    await new Promise<void>((resolve, reject) => {
      abstractServer.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (line === 'ready') resolve();
          if (line === 'accepted') abstractConnections++;
        }
      });
      abstractServer.once('exit', (code) =>
        reject(new Error(`the abstract server exited (${code})`)),
      );
    });
  });
  afterAll(async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await http.close();
    await https.close();
    const exited = new Promise((resolve) => abstractServer.once('exit', resolve));
    abstractServer.kill('SIGKILL');
    await exited;
  });
  beforeEach(() => {
    baselineFds = openFds();
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
    await expectNothingLeft(baselineFds, 5_000);
    expect(http.open).toBe(0);
    expect(https.open).toBe(0);
  });

  test('fetch reaches an allowed name through the proxy; the result says what was enforced', async () => {
    const result = await runtime().executeToolWithTimeout({
      toolPath: 'net-fetch.ts',
      input: { url: `http://allowed.test:${http.port}/hello` },
    });
    expect(result.output).toBe(`hello /hello via allowed.test:${http.port}`);
    expect(result.enforcement).toMatchObject({
      network: 'allow-list',
      networkAllowList: ['allowed.test'],
    });
    expect(result.enforcement.namespaces).toContain('net');
  });

  test("a call's env cannot take the proxy away: the proxy variables are toolcage's, NO_PROXY goes", async () => {
    const result = await runtime().executeToolWithTimeout({
      toolPath: 'net-fetch.ts',
      input: { url: `http://allowed.test:${http.port}/env` },
      env: { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: 'allowed.test' },
    });
    expect(result.output).toBe(`hello /env via allowed.test:${http.port}`);
  });

  test.each([
    [
      'another name',
      () => `http://denied.test:${http.port}/`,
      'denied.test',
      'not in the allow-list',
    ],
    ['the bare IP', () => `http://127.0.0.1:${http.port}/`, '127.0.0.1', 'not in the allow-list'],
  ])('%s is permission_denied, naming host, port and why', async (_name, url, host, why) => {
    const error = await rejectionOf(
      runtime().executeToolWithTimeout({ toolPath: 'net-fetch.ts', input: { url: url() } }),
    );
    expect(error['kind']).toBe(ErrorKind.PermissionDenied);
    expect(error['message']).toBe(
      `Tool \`net-fetch\` was denied by the sandbox: connect to ${host}:${http.port}: ${why}`,
    );
  });

  test('a tool that handles the refusal succeeds, and the result names the denial toolcage saw', async () => {
    const result = await runtime().executeToolWithTimeout({
      toolPath: 'net-fetch-status.ts',
      input: { url: `http://denied.test:${http.port}/` },
    });
    expect(result.output).toBe(403);
    expect(result.denials).toEqual([
      {
        operation: 'net',
        host: 'denied.test',
        port: http.port,
        reason: 'not in the allow-list',
        observedBy: 'proxy',
      },
    ]);
    const allowed = await runtime().executeToolWithTimeout({
      toolPath: 'net-fetch-status.ts',
      input: { url: `http://allowed.test:${http.port}/` },
    });
    expect(allowed.denials).toBeUndefined();
  });

  test('a port outside the pattern is permission_denied', async () => {
    const error = await rejectionOf(
      runtime({ defaults: { permissions: { net: ['allowed.test:1'] } } }).executeToolWithTimeout({
        toolPath: 'net-fetch.ts',
        input: { url: `http://allowed.test:${http.port}/` },
      }),
    );
    expect(error['kind']).toBe(ErrorKind.PermissionDenied);
    expect(error['message']).toContain(
      `connect to allowed.test:${http.port}: not in the allow-list`,
    );
    expect(http.paths).not.toContain('/port');
  });

  test('HTTPS goes through CONNECT to an allowed name (no interception) and is refused for another', async () => {
    const tools = runtime();
    const result = await tools.executeToolWithTimeout({
      toolPath: 'net-fetch.ts',
      input: { url: `https://allowed.test:${https.port}/secure`, insecure: true },
    });
    expect(result.output).toBe(`hello /secure via allowed.test:${https.port}`);
    const error = await rejectionOf(
      tools.executeToolWithTimeout({
        toolPath: 'net-fetch.ts',
        input: { url: `https://denied.test:${https.port}/secure`, insecure: true },
      }),
    );
    expect(error['kind']).toBe(ErrorKind.PermissionDenied);
    expect(error['message']).toContain(
      `connect to denied.test:${https.port}: not in the allow-list`,
    );
  });

  test('node:http through the proxy: absolute-form requests and CONNECT + TLS', async () => {
    const tools = runtime();
    const plain = await tools.executeToolWithTimeout({
      toolPath: 'net-node-http.ts',
      input: { url: `http://allowed.test:${http.port}/node`, mode: 'absolute' },
    });
    expect(plain.output).toBe(`hello /node via allowed.test:${http.port}`);
    const tunnelled = await tools.executeToolWithTimeout({
      toolPath: 'net-node-http.ts',
      input: { url: `https://allowed.test:${https.port}/tls`, mode: 'connect' },
    });
    expect(tunnelled.output).toBe(`hello /tls via allowed.test:${https.port}`);
    for (const input of [
      { url: `http://denied.test:${http.port}/node`, mode: 'absolute' },
      { url: `https://denied.test:${https.port}/tls`, mode: 'connect' },
    ]) {
      const error = await rejectionOf(
        tools.executeToolWithTimeout({ toolPath: 'net-node-http.ts', input }),
      );
      expect(error['kind']).toBe(ErrorKind.PermissionDenied);
      expect(error['message']).toContain('denied.test');
    }
  });

  test('large bodies cross the forwarder and the proxy intact, both ways, HTTP and HTTPS', async () => {
    const bytes = 8 * 1024 * 1024;
    const sha256 = createHash('sha256').update(pattern(bytes)).digest('hex');
    const tools = runtime({ defaults: { permissions: { net: ['allowed.test'] } } });
    for (const [server, scheme] of [
      [http, 'http'],
      [https, 'https'],
    ] as const) {
      const result = await tools.executeToolWithTimeout({
        toolPath: 'net-transfer.ts',
        input: { base: `${scheme}://allowed.test:${server.port}`, bytes, insecure: true },
      });
      expect(result.output).toEqual({
        received: { bytes, sha256 },
        downloaded: { bytes, sha256 },
      });
    }
  });

  test('a raw socket finds no route: permission_denied, and the server sees nothing', async () => {
    const before = http.paths.length;
    const error = await rejectionOf(
      runtime().executeToolWithTimeout({
        toolPath: 'net-raw-connect.ts',
        input: { host: '127.0.0.1', port: http.port },
      }),
    );
    expect(error['kind']).toBe(ErrorKind.PermissionDenied);
    expect(error['message']).toBe(
      `Tool \`net-raw-connect\` reported that a connect to 127.0.0.1:${http.port} was denied (no route out of the sandbox but its egress proxy at HTTP_PROXY)`,
    );
    expect(http.paths.length).toBe(before);
  });

  test("the host's abstract Unix sockets are out of reach (they belong to its network namespace)", async () => {
    // The control: with the whole network the sandbox shares the host's namespace and connects.
    const whole = await runtime({
      defaults: { permissions: { net: true } },
    }).executeToolWithTimeout({
      toolPath: 'net-raw-connect.ts',
      input: { abstract: abstractName },
    });
    expect(whole.output).toBe('connected');
    await until(() => abstractConnections === 1);
    const error = await rejectionOf(
      runtime().executeToolWithTimeout({
        toolPath: 'net-raw-connect.ts',
        input: { abstract: abstractName },
      }),
    );
    expect(error['kind']).toBe(ErrorKind.PermissionDenied);
    expect(error['message']).toContain(`connect to the abstract Unix socket @${abstractName}`);
    expect(abstractConnections).toBe(1);
  });

  test('without allowPrivateAddresses an allowed name that maps to loopback is refused with the reason', async () => {
    const error = await rejectionOf(
      runtime({ network: { hosts: HOSTS } }).executeToolWithTimeout({
        toolPath: 'net-fetch.ts',
        input: { url: `http://allowed.test:${http.port}/` },
      }),
    );
    expect(error['kind']).toBe(ErrorKind.PermissionDenied);
    expect(error['message']).toBe(
      `Tool \`net-fetch\` was denied by the sandbox: connect to allowed.test:${http.port}: resolves to 127.0.0.1, a loopback address`,
    );
  });

  test('with `net: true` nothing changes: the host network, no proxy variables', async () => {
    const tools = runtime({ defaults: { permissions: { net: true } } });
    const direct = await tools.executeToolWithTimeout({
      toolPath: 'net-fetch.ts',
      input: { url: `http://127.0.0.1:${http.port}/direct` },
    });
    expect(direct.output).toBe(`hello /direct via 127.0.0.1:${http.port}`);
    expect(direct.enforcement.network).toBe('host');
    expect(direct.enforcement.networkAllowList).toBeUndefined();
    const env = await tools.executeToolWithTimeout({
      toolPath: 'env-reader.ts',
      input: { names: ['HTTP_PROXY', 'https_proxy'] },
    });
    expect(env.output).toMatchObject({ seen: { HTTP_PROXY: null, https_proxy: null } });
  });

  test('a call narrows the list; widening it is invalid_request', async () => {
    const tools = runtime({ defaults: { permissions: { net: ['allowed.test', 'denied.test'] } } });
    const narrowed = await rejectionOf(
      tools.executeToolWithTimeout({
        toolPath: 'net-fetch.ts',
        input: { url: `http://denied.test:${http.port}/` },
        permissions: { net: ['allowed.test'] },
      }),
    );
    expect(narrowed['kind']).toBe(ErrorKind.PermissionDenied);
    const widened = await rejectionOf(
      tools.executeToolWithTimeout({
        toolPath: 'net-fetch.ts',
        permissions: { net: ['other.test'] },
      }),
    );
    expect(widened['kind']).toBe(ErrorKind.InvalidRequest);
    expect(widened['message']).toContain('other.test is not in the tool');
  });

  test('the connection cap refuses one connection too many: resource_limit `network`', async () => {
    const url = `http://allowed.test:${http.port}/slow?ms=1500`;
    const error = await rejectionOf(
      runtime({
        defaults: { permissions: { net: ['allowed.test'] }, limits: { maxConnections: 2 } },
      }).executeToolWithTimeout({
        toolPath: 'net-fetch-many.ts',
        input: { urls: [url, url, url] },
      }),
    );
    expect(error['kind']).toBe(ErrorKind.ResourceLimit);
    expect(error['limit']).toBe('network');
    expect(error['message']).toContain('hit the network limit (more than 2 connections at once)');
  });

  test('the byte cap ends the transfer: resource_limit `network`', async () => {
    const error = await rejectionOf(
      runtime({
        defaults: { permissions: { net: ['allowed.test'] }, limits: { maxNetworkMb: 1 } },
      }).executeToolWithTimeout({
        toolPath: 'net-fetch.ts',
        input: { url: `http://allowed.test:${http.port}/bytes?n=${3 * 1024 * 1024}` },
      }),
    );
    expect(error['kind']).toBe(ErrorKind.ResourceLimit);
    expect(error['limit']).toBe('network');
    expect(error['message']).toContain('more than 1 MiB through the network');
  });

  test("a timeout closes the execution's connections", async () => {
    const hangs = http.paths.filter((p) => p === '/hang').length;
    const error = await rejectionOf(
      runtime().executeToolWithTimeout({
        toolPath: 'net-fetch.ts',
        input: { url: `http://allowed.test:${http.port}/hang` },
        timeoutMs: 3_000,
      }),
    );
    expect(error['kind']).toBe(ErrorKind.Timeout);
    // The request reached the server (so a connection was open through the proxy) …
    expect(http.paths.filter((p) => p === '/hang').length).toBe(hangs + 1);
    // … and the proxy closed it when the execution ended (afterEach checks it is gone).
    await until(() => http.open === 0);
  });

  test('a prewarmed process with an allow-list has its own proxy session', async () => {
    const tools = runtime({
      prewarm: 1,
      tools: { fetcher: { path: 'net-fetch.ts' } },
    });
    for (let i = 0; i < 2; i++) {
      const result = await tools.executeToolWithTimeout({
        toolId: 'fetcher',
        input: { url: `http://allowed.test:${http.port}/warm${i}` },
      });
      expect(result.output).toBe(`hello /warm${i} via allowed.test:${http.port}`);
    }
  });

  test('metrics count every decision and denial; the span gets one event per refused connection', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tools = runtime({
      telemetry: true,
      meterProvider,
      tracerProvider,
      tools: { fetcher: { path: 'net-fetch-many.ts' } },
    });
    await tools.executeToolWithTimeout({
      toolId: 'fetcher',
      input: { urls: [`http://allowed.test:${http.port}/a`, `http://allowed.test:${http.port}/b`] },
    });
    await rejectionOf(
      tools.executeToolWithTimeout({
        toolId: 'fetcher',
        input: {
          urls: [`http://allowed.test:${http.port}/c`, `http://denied.test:${http.port}/d`],
          sequential: true,
        },
      }),
    );
    await rejectionOf(
      tools.executeToolWithTimeout({
        toolPath: 'sandbox-read-outside.ts',
      }),
    );
    const counts = await counters(reader);
    expect(counts.get('runtime.tool.network.requests')).toEqual({
      'fetcher/allowed': 3,
      'fetcher/denied': 1,
    });
    expect(counts.get('runtime.tool.permission.denials')).toEqual({
      'fetcher/net': 1,
      'sandbox-read-outside/read': 1,
    });
    const spans = exporter.getFinishedSpans();
    const denials = (span: (typeof spans)[number]) =>
      span.events.filter((event) => event.name === 'network.denied');
    expect(spans.map((span) => denials(span).length)).toEqual([0, 1, 0]);
    expect(denials(spans[1]!)[0]?.attributes).toEqual({
      host: 'denied.test',
      port: http.port,
      reason: 'not in the allow-list',
    });
    await meterProvider.shutdown();
  });
});

// A pull reader: data only when `collect()` is awaited.
class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

// Counter values by metric name, then by `tool_id/<second label>`.
async function counters(reader: MetricReader): Promise<Map<string, Record<string, number>>> {
  const { resourceMetrics } = await reader.collect();
  const result = new Map<string, Record<string, number>>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const byLabel: Record<string, number> = {};
      for (const point of metric.dataPoints as DataPoint<number>[]) {
        const { tool_id: toolId, ...rest } = point.attributes;
        byLabel[`${String(toolId)}/${Object.values(rest).map(String).join('/')}`] = point.value;
      }
      result.set(metric.descriptor.name, byLabel);
    }
  }
  return result;
}
