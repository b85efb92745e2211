/**
 * How a tool process ended: its exit code, or the signal that killed it. Both ways of starting
 * one (spawn.ts directly, launcher.ts through the launcher) report it in this shape.
 */
export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}
