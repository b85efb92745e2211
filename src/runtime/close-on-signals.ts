/**
 * Closing a runtime when the process is asked to stop. Without it a SIGINT or SIGTERM ends
 * Node at once: the executions under way are not killed by the runtime (the sandbox's own
 * safeguards and the next runtime's sweep clean up later), and nothing waits for their cgroups
 * and temp dirs to go.
 */
import { describe } from '../sandbox/permissions.js';

/** Anything with a `close()`: a runtime. */
export interface Closable {
  close(): Promise<void>;
}

/** Options of {@link closeOnSignals}. */
export interface CloseOnSignalsOptions {
  /** The signals to handle. @default ['SIGINT', 'SIGTERM', 'SIGHUP'] */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * Once closed, end the process by the same signal (as it would have ended without a handler)
   * — unless another listener for that signal is left, whose job that then is. @default true
   */
  readonly reraise?: boolean;
  /** Called when a signal arrives, before the runtime closes. */
  readonly onSignal?: (signal: NodeJS.Signals) => void;
}

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Closes `runtime` (everything running is killed as `cancelled`, its cgroups and temp dirs
 * removed) when the process gets SIGINT, SIGTERM or SIGHUP, then lets the signal end the
 * process. A second signal while it closes ends the process at once. Returns a disposer that
 * removes the handlers (call it when the runtime is closed by other means).
 *
 * ```ts
 * const runtime = createToolRuntime();
 * const dispose = closeOnSignals(runtime);
 * try { … } finally { dispose(); await runtime.close(); }
 * ```
 */
export function closeOnSignals(runtime: Closable, options: CloseOnSignalsOptions = {}): () => void {
  if (typeof (runtime as Partial<Closable> | null)?.close !== 'function') {
    throw new TypeError(`Expected \`runtime\` to have a close() method, got ${describe(runtime)}`);
  }
  const signals = options.signals ?? DEFAULT_SIGNALS;
  const reraise = options.reraise ?? true;
  let closing = false;
  const dispose = (): void => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  // Ends the process by `signal` when no other listener is left to decide what to do with it.
  const finish = (signal: NodeJS.Signals): void => {
    dispose();
    if (reraise && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    if (closing) {
      finish(signal); // The second one: do not wait any longer.
      return;
    }
    closing = true;
    options.onSignal?.(signal);
    void runtime.close().then(
      () => finish(signal),
      () => finish(signal),
    );
  }
  for (const signal of signals) process.on(signal, onSignal);
  return dispose;
}
