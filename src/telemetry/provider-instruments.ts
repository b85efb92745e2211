/**
 * Instruments bound to the meter provider that is current when they are used. Uses only
 * `@opentelemetry/api` (the library's metrics build on it; no SDK).
 *
 * Why: OpenTelemetry metrics have no proxy provider, so a meter taken from the global API before
 * the application registers its SDK is the no-op meter forever — and a runtime or an engine kit
 * is often created before telemetry is set up. Without an explicit provider the global one is
 * looked up at every use, and the instruments are created again whenever it changed.
 */
import { metrics, type MeterProvider } from '@opentelemetry/api';

/** A set of instruments made by `create`, for an explicit provider or the current global one. */
export class ProviderInstruments<T> {
  readonly #explicit: MeterProvider | undefined;
  readonly #create: (provider: MeterProvider) => T;
  #provider: MeterProvider | undefined;
  #instruments: T | undefined;

  constructor(create: (provider: MeterProvider) => T, meterProvider?: MeterProvider) {
    this.#create = create;
    this.#explicit = meterProvider;
  }

  /** The instruments of the current provider, created on first use and again when it changed. */
  get(): T {
    const provider = this.#explicit ?? metrics.getMeterProvider();
    if (this.#instruments === undefined || provider !== this.#provider) {
      this.#instruments = this.#create(provider);
      this.#provider = provider;
    }
    return this.#instruments;
  }
}
