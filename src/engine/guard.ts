/**
 * Telemetry must never change what the code it observes returns or throws. Every call into a
 * meter, a tracer or a span goes through a guard: a throw is caught, the first one is reported
 * (once per kit, so a broken SDK does not flood the log), and the observed code carries on.
 */

/** Receives the one warning of a kit whose telemetry threw. */
export type WarningHandler = (message: string) => void;

/** Runs telemetry calls, swallowing their failures and reporting the first one. */
export class TelemetryGuard {
  readonly #warn: WarningHandler;
  #warned = false;

  constructor(warn: WarningHandler = defaultWarn) {
    this.#warn = warn;
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
    if (this.#warned) return;
    this.#warned = true;
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    try {
      this.#warn(
        `toolcage engine telemetry failed (${what}: ${detail}); the observed call went on unaffected. ` +
          'Later telemetry failures of this kit are not reported.',
      );
    } catch {
      // A throwing warning handler is one more telemetry failure: ignored.
    }
  }
}

function defaultWarn(message: string): void {
  process.emitWarning(message, 'TelemetryWarning');
}
