/**
 * A worker for the example: serves `executeTool` for the registry's tools and runs the example's
 * workflows, on the task queue `toolcage-example`, with a Prometheus endpoint on :9464. Start
 * as many as you like (each its own process): they share the queue's work. Ctrl-C stops it
 * after the tools in flight finish.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ToolRuntimeOptions } from 'toolcage';
import { createToolWorker } from 'toolcage/temporal';
import { setupTelemetry } from 'toolcage/telemetry';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const registry = JSON.parse(readFileSync(here('./registry.json'), 'utf8')) as ToolRuntimeOptions;

const telemetry = await setupTelemetry({
  serviceName: 'toolcage-example-worker',
  prometheus: { port: Number(process.env['METRICS_PORT'] ?? 9464) },
});
const worker = await createToolWorker({
  taskQueue: 'toolcage-example',
  address: process.env['TEMPORAL_ADDRESS'] ?? 'localhost:7233',
  workflowsPath: here('./workflows.ts'),
  runtimeOptions: { ...registry, rootDir: here('.') },
  meterProvider: telemetry.meterProvider,
  tracerProvider: telemetry.tracerProvider,
});
console.log(`worker running; metrics at ${telemetry.prometheusUrl}`);
try {
  await worker.run(); // until SIGINT/SIGTERM
} finally {
  await worker.shutdown();
  await telemetry.shutdown();
}
