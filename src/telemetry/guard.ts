/**
 * Telemetry must never change what the code it observes returns or throws. Every call into a
 * meter, a tracer or a span goes through a guard: a throw is caught and counted, the first one
 * is reported (once per guard, so a broken SDK does not flood the log), and the observed code
 * carries on. The engine kit (src/engine/kit.ts) and the Temporal workflow metrics
 * (src/temporal/workflow-metrics.ts) each keep one.
 */

/** Receives the one warning of a guard whose telemetry threw. */
export type WarningHandler = (message: string) => void;

/** Runs telemetry calls, swallowing their failures and reporting the first one. */
export class TelemetryGuard {
  readonly #warn: WarningHandler;
  readonly #message: (what: string, error: unknown) => string;
  #failures = 0;

  /** `message` words the one warning from the first failure (what was recorded, and the error). */
  constructor(
    message: (what: string, error: unknown) => string,
    warn: WarningHandler = defaultWarn,
  ) {
    this.#message = message;
    this.#warn = warn;
  }

  /** Telemetry calls that threw so far (the first one was reported). */
  get failures(): number {
    return this.#failures;
  }

  /** `fn()`, or `fallback` when it throws. */
  run<T>(what: string, fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (error) {
      this.#report(what, error);
      return fallback;
    }
  }

  /** `fn()` for its side effect only. */
  do(what: string, fn: () => void): void {
    this.run(what, fn, undefined);
  }

  #report(what: string, error: unknown): void {
    if (this.#failures++ > 0) return;
    try {
      this.#warn(this.#message(what, error));
    } catch {
      // A throwing warning handler is one more telemetry failure: ignored.
    }
  }
}

function defaultWarn(message: string): void {
  process.emitWarning(message, 'TelemetryWarning');
}
