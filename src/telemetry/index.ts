/**
 * SDK wiring of toolcage's telemetry (used by applications and the CLI, never by the library).
 */
export { setupTelemetry } from './setup.js';
export { telemetryFromEnv } from './env.js';
export type { OtlpOptions, TelemetryHandle, TelemetrySetupOptions } from './options.js';
