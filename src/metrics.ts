// STUB written by the lead so the runtime runs before the telemetry work lands: overwrite freely.
import type { MeterProvider } from '@opentelemetry/api';
import type { ErrorKind } from './errors/kinds.js';
export type Outcome = 'success' | 'error' | 'timeout';
export interface ProcessExit { status: 'exit' | 'signal'; code?: number; signal?: string }
export class ToolMetrics {
  constructor(_options?: { meterProvider?: MeterProvider }) {}
  recordExecution(_e: { toolId: string; outcome: Outcome; durationMs: number; outputBytes?: number; errorKind?: ErrorKind; exit?: ProcessExit }): void {}
  recordError(_toolId: string, _kind: ErrorKind): void {}
}
