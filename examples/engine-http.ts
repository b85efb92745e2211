/**
 * An engine's HTTP front on toolcage, in one file: a tool run synchronously through the runtime,
 * a workflow run synchronously through waitForCompletion (the workflow service is faked in
 * memory), asynchronous starts counted, and every metric on a Prometheus endpoint.
 *
 *   npm run build && npx vite-node examples/engine-http.ts
 *   curl -X POST localhost:8080/tools/word-count -d '{"text":"one two three"}'
 *   curl -X POST 'localhost:8080/workflows/report/sync?runMs=300'
 *   curl localhost:9464/metrics
 *
 * Environment: PORT (8080), METRICS_PORT (9464), TOOLCAGE_SANDBOX (auto). test/engine/ runs it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createToolRuntime, isToolExecutionError, type SandboxMode } from 'toolcage';
import {
  executeWorkflowSync,
  isWorkflowWaitError,
  recordAsyncStarted,
  withTaskSpan,
  type PollResult,
} from 'toolcage/engine';
import { setupTelemetry } from 'toolcage/telemetry';

const telemetry = await setupTelemetry({
  serviceName: 'engine-example',
  prometheus: { port: Number(process.env['METRICS_PORT'] ?? 9464) },
});
const runtime = createToolRuntime({
  rootDir: fileURLToPath(new URL('tools/', import.meta.url)),
  tools: { 'word-count': { path: 'word-count.ts', timeoutMs: 5_000 } },
  sandbox: (process.env['TOOLCAGE_SANDBOX'] ?? 'auto') as SandboxMode,
});

// The fake workflow service: an execution runs `runMs`, then completes (or fails).
interface Execution {
  readonly startedAt: number;
  readonly runMs: number;
  readonly fail: boolean;
}
const executions = new Map<string, Execution>();

function startWorkflow(url: URL): string {
  const execId = randomUUID();
  const runMs = Number(url.searchParams.get('runMs') ?? 200);
  executions.set(execId, { startedAt: Date.now(), runMs, fail: url.searchParams.has('fail') });
  return execId;
}

// One status read, as a poll answers it: the workflow's state, its output once done.
function readExecution(execId: string): PollResult<{ execId: string; finishedAfterMs: number }> {
  const execution = executions.get(execId);
  if (execution === undefined) throw new Error(`no execution ${execId}`);
  const elapsed = Date.now() - execution.startedAt;
  if (elapsed < execution.runMs) return { done: false, state: 'RUNNING' };
  executions.delete(execId);
  if (execution.fail) throw new Error(`execution ${execId} failed`);
  return { done: true, state: 'COMPLETED', value: { execId, finishedAfterMs: elapsed } };
}

const TOOL_ERROR_STATUS: Partial<Record<string, number>> = {
  invalid_request: 400,
  tool_not_found: 404,
  timeout: 504,
};
const WAIT_ERROR_STATUS = { timeout: 504, aborted: 499, poll_failed: 502 } as const;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [kind, id, mode] = url.pathname.split('/').filter(Boolean);
  // A client that goes away cancels what it was waiting for.
  const gone = new AbortController();
  res.once('close', () => gone.abort(new Error('client disconnected')));

  if (req.method === 'POST' && kind === 'tools' && id !== undefined) {
    const input = JSON.parse((await readBody(req)) || '{}') as unknown;
    if (mode === 'async') {
      runtime.executeToolWithTimeout({ toolId: id, input }).catch(() => {}); // result stored elsewhere
      recordAsyncStarted('task');
      return reply(res, 202, { accepted: true });
    }
    try {
      const result = await withTaskSpan({ taskId: id, component: 'tool', timeoutMs: 5_000 }, () =>
        runtime.executeToolWithTimeout({
          toolId: id,
          input,
          timeoutMs: 5_000,
          signal: gone.signal,
        }),
      );
      return reply(res, 200, { output: result.output, durationMs: result.durationMs });
    } catch (error) {
      if (!isToolExecutionError(error)) throw error;
      return reply(res, TOOL_ERROR_STATUS[error.kind] ?? 502, {
        error: error.kind,
        message: error.message,
      });
    }
  }

  if (req.method === 'POST' && kind === 'workflows' && id !== undefined) {
    if (mode === 'async') {
      const execId = startWorkflow(url);
      recordAsyncStarted('workflow');
      return reply(res, 202, { execId });
    }
    try {
      const value = await executeWorkflowSync({
        workflowId: id, // the definition id: a bounded metric label
        timeoutMs: Number(url.searchParams.get('timeoutMs') ?? 10_000),
        signal: gone.signal,
        start: () => startWorkflow(url),
        execId: (execId) => execId,
        poll: (_attempt, { started }) => readExecution(started),
      });
      return reply(res, 200, value);
    } catch (error) {
      if (!isWorkflowWaitError(error)) throw error;
      return reply(res, WAIT_ERROR_STATUS[error.reason], {
        error: error.reason,
        message: error.message,
      });
    }
  }
  reply(res, 404, { error: 'not_found' });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => reply(res, 500, { error: String(error) }));
});
server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`engine example: http://127.0.0.1:${port} (metrics: ${telemetry.prometheusUrl})`);
});

// vite-node, which runs this file, has a SIGTERM listener of its own (vite's) that calls
// process.exit() as soon as its dev server is closed, whether or not the runtime below is closed
// by then (a tool still running would be left behind): removed, so that this handler decides.
process.removeAllListeners('SIGTERM');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void runtime
      .close() // kills the tools still running, removes their sandboxes
      .then(() => telemetry.shutdown())
      .then(() => console.log('engine example: closed'));
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.once('end', () => resolve(body));
    req.once('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
