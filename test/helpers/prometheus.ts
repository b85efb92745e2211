/**
 * A real Prometheus server for tests: started on 127.0.0.1 and a free port with a temporary
 * data directory and a generated configuration (1 s scrape and rule evaluation), queried through
 * its HTTP API, killed and cleaned up by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** One series of an instant query. */
export interface Sample {
  readonly metric: Record<string, string>;
  /** The value as Prometheus printed it (`"0.25"`, `"NaN"`, `"+Inf"`). */
  readonly value: string;
}

/** The answer of `/api/v1/query`. */
export type QueryAnswer =
  | { readonly ok: true; readonly samples: Sample[] }
  | { readonly ok: false; readonly error: string };

/** A rule as `/api/v1/rules` reports it. */
export interface RuleState {
  readonly name: string;
  readonly query: string;
  readonly health: string;
  readonly lastError?: string;
  readonly lastEvaluation: string;
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  query(expr: string): Promise<QueryAnswer>;
  /** The metric's type as scraped (`histogram`, `counter`, …), from `/api/v1/metadata`. */
  metadataType(metric: string): Promise<string | undefined>;
  rules(): Promise<RuleState[]>;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes its data directory. */
  close(): Promise<void>;
}

/** Where the Prometheus binary is: `PROMETHEUS_BIN`, else `prometheus` on PATH; undefined when missing. */
export function findPrometheus(): string | undefined {
  const explicit = process.env['PROMETHEUS_BIN'];
  const candidates =
    explicit !== undefined && explicit !== ''
      ? [explicit]
      : [
          ...(process.env['PATH'] ?? '')
            .split(delimiter)
            .filter(Boolean)
            .map((dir) => join(dir, 'prometheus')),
          '/usr/bin/prometheus',
        ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Options of {@link startPrometheus}. */
export interface StartPrometheusOptions {
  /** The scrape target's `/metrics` URL (toolcage's Prometheus endpoint). */
  readonly target: string;
  /** Rule files to load (evaluated every second). @default [] */
  readonly ruleFiles?: readonly string[];
  /** @default findPrometheus() */
  readonly binary?: string;
}

/** Starts Prometheus scraping `target` every second; resolves once `/-/ready` answers. */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const binary = options.binary ?? findPrometheus();
  if (binary === undefined) throw new Error('prometheus binary not found (set PROMETHEUS_BIN)');
  const dataDir = await mkdtemp(join(tmpdir(), 'prometheus-test-'));
  const target = new URL(options.target);
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    ...(options.ruleFiles === undefined || options.ruleFiles.length === 0
      ? []
      : ['rule_files:', ...options.ruleFiles.map((file) => `  - ${JSON.stringify(file)}`)]),
    'scrape_configs:',
    '  - job_name: toolcage',
    `    metrics_path: ${JSON.stringify(target.pathname)}`,
    '    static_configs:',
    `      - targets: [${JSON.stringify(target.host)}]`,
    '',
  ].join('\n');
  const configFile = join(dataDir, 'prometheus.yml');
  await writeFile(configFile, config);

  // A free port: bound by us, released, then given to Prometheus (it has no "port 0" that it
  // reports back). Another process taking it in between makes start-up fail loudly, not hang.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const close = async (): Promise<void> => {
    await stop(child, exited);
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitReady(url, child, () => stderr);
  } catch (error) {
    await close();
    throw error;
  }

  return {
    url,
    close,
    async query(expr) {
      const body = await getJson(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (body.status !== 'success')
        return { ok: false, error: `${body.errorType}: ${body.error}` };
      const data = body.data as { resultType: string; result: unknown };
      if (data.resultType !== 'vector')
        return { ok: false, error: `unexpected result type ${data.resultType}` };
      const result = data.result as { metric: Record<string, string>; value: [number, string] }[];
      return { ok: true, samples: result.map((r) => ({ metric: r.metric, value: r.value[1] })) };
    },
    async metadataType(metric) {
      const body = await getJson(`${url}/api/v1/metadata?metric=${encodeURIComponent(metric)}`);
      const entries = (body.data as Record<string, { type: string }[]> | undefined)?.[metric];
      return entries?.[0]?.type;
    },
    async rules() {
      const body = await getJson(`${url}/api/v1/rules`);
      const groups = (body.data as { groups: { rules: RuleState[] }[] }).groups;
      return groups.flatMap((group) => group.rules);
    },
  };
}

interface ApiBody {
  status: string;
  data?: unknown;
  errorType?: string;
  error?: string;
}

async function getJson(url: string): Promise<ApiBody> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as ApiBody;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `prometheus exited during start-up (${child.exitCode ?? child.signalCode}):\n${stderr()}`,
      );
    }
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`prometheus not ready within 20 s:\n${stderr()}`);
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}
