/**
 * An engine kit for tests: in-memory metric reader and span exporter, warnings collected.
 */
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createEngineKit, type EngineKit, type EngineKitOptions } from '../../src/engine/index.js';
import { testMeterProvider, testTracerProvider, type TestReader } from './otel.js';

/** A kit and what it recorded. */
export interface TestKit {
  readonly kit: EngineKit;
  readonly reader: TestReader;
  readonly exporter: InMemorySpanExporter;
  /** The warnings of `onWarning`. */
  readonly warnings: string[];
}

/** A kit recording to a fresh meter provider (pull reader) and tracer provider (in memory). */
export function testKit(
  options: Omit<EngineKitOptions, 'meterProvider' | 'tracerProvider'> = {},
): TestKit {
  const { reader, meterProvider } = testMeterProvider();
  const { exporter, tracerProvider } = testTracerProvider();
  const warnings: string[] = [];
  const kit = createEngineKit({
    meterProvider,
    tracerProvider,
    onWarning: (message) => warnings.push(message),
    ...options,
  });
  return { kit, reader, exporter, warnings };
}

/** What a promise that must reject rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}
