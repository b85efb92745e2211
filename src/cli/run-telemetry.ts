/**
 * The telemetry of one `toolcage run`: the SDK wired from the OTEL_* variables, and its flush at
 * exit, bounded so that a collector that is down costs the run almost nothing (one warning on
 * stderr, its data dropped). A long-lived process (`toolcage worker`, an application's
 * runtime) keeps the exporters' own retries: this is for one-shot runs only.
 */
import { detectCapabilities } from '../sandbox/detect.js';
import { resolveOtlp } from '../telemetry/env.js';
import type { TelemetryHandle, TelemetrySetupOptions } from '../telemetry/setup-options.js';
import { probeCollectors } from './collector-probe.js';

/**
 * How long the flush at exit waits for a collector that has not answered the probe by then
 * (no answer to a TCP connect at all: a dropped SYN, a slow network). One that answered gets the
 * exporters' own export timeout; one that refused gets nothing. Measured before the probe and
 * this bound: +2.2–2.7 s on every run with an unreachable endpoint.
 */
export const RUN_EXIT_FLUSH_MS = 300;

/** The wired SDK of a run, and the end of it. */
export interface RunTelemetry {
  readonly handle: TelemetryHandle;
  /** Flushes within the bound, at most one warning; never rejects. */
  end(): Promise<void>;
}

/** Wires the SDK for a run, and probes its collectors while the tool runs. */
export async function startRunTelemetry(options: TelemetrySetupOptions): Promise<RunTelemetry> {
  const otlp = resolveOtlp(options.otlp);
  const destinations = [otlp?.metrics?.destination, otlp?.traces?.destination];
  const probe = probeCollectors(destinations.filter((url) => url !== undefined));
  // Loading the SDK costs CPU while the sandbox's detection mostly waits on its probe processes
  // (docs/performance.md, "The CLI's telemetry start"): the detection, which the run needs
  // anyway and caches, starts first and goes on meanwhile; its failure is the run's to report.
  detectCapabilities().catch(() => {});
  let warned = false;
  const warn = (message: string): void => {
    if (warned) return;
    warned = true;
    process.stderr.write(`${message}\n`);
  };
  const { setupTelemetry } = await import('../telemetry/setup.js');
  const handle = await setupTelemetry({ ...options, onWarning: warn });
  return {
    handle,
    async end() {
      const state = probe.state();
      probe.close();
      if (state.kind === 'unreachable') {
        warn(
          `toolcage: telemetry collector ${state.url} is unreachable (${state.reason}); ` +
            "this run's metrics and spans are dropped",
        );
        return;
      }
      await handle.shutdown(state.kind === 'reachable' ? {} : { timeoutMs: RUN_EXIT_FLUSH_MS });
    },
  };
}
