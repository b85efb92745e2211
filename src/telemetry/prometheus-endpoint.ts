/**
 * The Prometheus scrape endpoint: the SDK's PrometheusExporter as the reader, served by our own
 * HTTP server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

/** A started scrape endpoint. */
export interface PrometheusEndpoint {
  /** The metric reader to give the MeterProvider. */
  readonly reader: PrometheusExporter;
  /** `http://host:port/metrics`. */
  readonly url: string;
  /** Stops serving (open keep-alive connections of the scraper included). */
  close(): Promise<void>;
}

/**
 * Starts serving `/metrics` on `host:port` (port 0: a free port).
 *
 * Why our own server: the exporter's built-in one treats port 0 as "unset" (`config.port ||
 * 9464`, then `OTEL_EXPORTER_PROMETHEUS_PORT`) and does not tell the port it bound, so it is
 * started with `preventServerStart` and only its request handler is used.
 */
export async function startPrometheusEndpoint(options: {
  readonly port: number;
  readonly host?: string;
}): Promise<PrometheusEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const reader = new PrometheusExporter({
    preventServerStart: true,
    // Series carry exactly the labels of the README's metrics table (no otel_scope_* labels);
    // `target_info` still describes the resource.
    withoutScopeInfo: true,
  });
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      reader.getMetricsRequestHandler(request, response);
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await listen(server, options.port, host);
  // The endpoint must not keep a one-shot process alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    reader,
    url: `http://${shownHost}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
