/**
 * `toolcage/telemetry`: the OpenTelemetry SDK wiring, for applications and the CLI that have no
 * SDK of their own. A subpath of its own so that `import 'toolcage'` loads `@opentelemetry/api`
 * only, never the SDK and its exporters (the OpenTelemetry rule for libraries).
 */
export { setupTelemetry } from './setup.js';
export type { OtlpOptions, TelemetryHandle, TelemetrySetupOptions } from './setup-options.js';
