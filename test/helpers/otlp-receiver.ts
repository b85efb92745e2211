/**
 * A tiny OTLP/HTTP (JSON) receiver for tests: listens on 127.0.0.1 and a free port, decodes
 * every `/v1/metrics` and `/v1/traces` request into plain objects (attribute values unwrapped),
 * and can pretend to be slow or failing.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A plain attribute map (OTLP AnyValue unwrapped: strings, numbers, booleans, arrays). */
export type PlainAttributes = Record<string, unknown>;

/** One data point, whatever the metric type. */
export interface ReceivedDataPoint {
  readonly attributes: PlainAttributes;
  /** Sum and gauge points. */
  readonly value?: number;
  /** Histogram points. */
  readonly count?: number;
  readonly sum?: number;
  readonly bucketCounts?: number[];
  readonly explicitBounds?: number[];
}

/** One metric of one request. */
export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string;
  readonly type: 'sum' | 'gauge' | 'histogram' | 'other';
  readonly isMonotonic?: boolean;
  readonly dataPoints: ReceivedDataPoint[];
  readonly scope: string;
  readonly resource: PlainAttributes;
}

/** One span. */
export interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly kind: number;
  readonly attributes: PlainAttributes;
  readonly status: { readonly code: number; readonly message?: string };
  readonly events: { readonly name: string; readonly attributes: PlainAttributes }[];
  readonly scope: string;
  readonly resource: PlainAttributes;
}

/** One HTTP request as it arrived. */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** Base endpoint, like `OTEL_EXPORTER_OTLP_ENDPOINT`: `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  readonly requests: readonly ReceivedRequest[];
  /** Every metric of every request, in arrival order. */
  metrics(): ReceivedMetric[];
  /** The metric of this name in the latest request that carried it (cumulative: the totals). */
  latestMetric(name: string): ReceivedMetric | undefined;
  /** Every span received. */
  spans(): ReceivedSpan[];
  /** Answers with this HTTP status from now on (a collector failing, then recovering). */
  setStatus(status: number): void;
  close(): Promise<void>;
}

/** How the receiver answers. */
export interface OtlpReceiverOptions {
  /** HTTP status of every answer. @default 200 */
  readonly status?: number;
  /** Answer this late (a slow collector), ms. @default 0 */
  readonly delayMs?: number;
}

/** Starts a receiver on 127.0.0.1 and a free port. */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  let status = options.status ?? 200;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const type = request.headers['content-type'] ?? '';
      let body: unknown;
      if (!type.includes('json')) {
        body = { unsupportedContentType: type };
      } else {
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          body = { invalidJson: text.slice(0, 200) };
        }
      }
      requests.push({ path: request.url ?? '', headers: request.headers, body });
      const answer = (): void => respond(response, status);
      if ((options.delayMs ?? 0) > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, options.delayMs);
        timers.add(timer);
      } else {
        answer();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, resolve);
  });
  const { port } = server.address() as AddressInfo;

  const metrics = (): ReceivedMetric[] =>
    requests.filter((r) => r.path === '/v1/metrics').flatMap((r) => decodeMetrics(r.body));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    metrics,
    latestMetric: (name) => metrics().findLast((metric) => metric.name === name),
    spans: () =>
      requests.filter((r) => r.path === '/v1/traces').flatMap((r) => decodeSpans(r.body)),
    setStatus(next) {
      status = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function respond(response: ServerResponse, status: number): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(status === 200 ? '{}' : JSON.stringify({ code: status, message: 'test receiver' }));
}

// ---- OTLP JSON decoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) ----

interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
interface Scoped<T> {
  scope?: { name?: string };
  metrics?: T[];
  spans?: T[];
}
interface JsonNumberPoint {
  attributes?: KeyValue[];
  asInt?: number | string;
  asDouble?: number;
  count?: number | string;
  sum?: number;
  bucketCounts?: (number | string)[];
  explicitBounds?: number[];
}
interface JsonMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints?: JsonNumberPoint[]; isMonotonic?: boolean };
  gauge?: { dataPoints?: JsonNumberPoint[] };
  histogram?: { dataPoints?: JsonNumberPoint[] };
}
interface JsonSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind?: number;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
  events?: { name: string; attributes?: KeyValue[] }[];
}

function anyValue(value: AnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(anyValue);
  if (value.kvlistValue !== undefined) return attributes(value.kvlistValue.values);
  return undefined;
}

function attributes(list: KeyValue[] | undefined): PlainAttributes {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
}

function dataPoint(point: JsonNumberPoint): ReceivedDataPoint {
  const value = point.asInt ?? point.asDouble;
  return {
    attributes: attributes(point.attributes),
    ...(value === undefined ? {} : { value: Number(value) }),
    ...(point.count === undefined ? {} : { count: Number(point.count) }),
    ...(point.sum === undefined ? {} : { sum: point.sum }),
    ...(point.bucketCounts === undefined ? {} : { bucketCounts: point.bucketCounts.map(Number) }),
    ...(point.explicitBounds === undefined ? {} : { explicitBounds: point.explicitBounds }),
  };
}

function decodeMetrics(body: unknown): ReceivedMetric[] {
  const resourceMetrics =
    (
      body as {
        resourceMetrics?: {
          resource?: { attributes?: KeyValue[] };
          scopeMetrics?: Scoped<JsonMetric>[];
        }[];
      }
    ).resourceMetrics ?? [];
  return resourceMetrics.flatMap((rm) =>
    (rm.scopeMetrics ?? []).flatMap((sm) =>
      (sm.metrics ?? []).map((metric): ReceivedMetric => {
        const common = {
          name: metric.name,
          unit: metric.unit ?? '',
          scope: sm.scope?.name ?? '',
          resource: attributes(rm.resource?.attributes),
        };
        if (metric.sum !== undefined) {
          return {
            ...common,
            type: 'sum',
            isMonotonic: metric.sum.isMonotonic ?? false,
            dataPoints: (metric.sum.dataPoints ?? []).map(dataPoint),
          };
        }
        if (metric.histogram !== undefined) {
          return {
            ...common,
            type: 'histogram',
            dataPoints: (metric.histogram.dataPoints ?? []).map(dataPoint),
          };
        }
        if (metric.gauge !== undefined) {
          return {
            ...common,
            type: 'gauge',
            dataPoints: (metric.gauge.dataPoints ?? []).map(dataPoint),
          };
        }
        return { ...common, type: 'other', dataPoints: [] };
      }),
    ),
  );
}

function decodeSpans(body: unknown): ReceivedSpan[] {
  const resourceSpans =
    (
      body as {
        resourceSpans?: {
          resource?: { attributes?: KeyValue[] };
          scopeSpans?: Scoped<JsonSpan>[];
        }[];
      }
    ).resourceSpans ?? [];
  return resourceSpans.flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span): ReceivedSpan => ({
        name: span.name,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId:
          span.parentSpanId === undefined || span.parentSpanId === ''
            ? undefined
            : span.parentSpanId,
        kind: span.kind ?? 0,
        attributes: attributes(span.attributes),
        status: {
          code: span.status?.code ?? 0,
          ...(span.status?.message === undefined ? {} : { message: span.status.message }),
        },
        events: (span.events ?? []).map((event) => ({
          name: event.name,
          attributes: attributes(event.attributes),
        })),
        scope: ss.scope?.name ?? '',
        resource: attributes(rs.resource?.attributes),
      })),
    ),
  );
}
