/**
 * How a tool process ended: its exit code, or the signal that killed it. Both ways of starting
 * one (spawn.ts directly, launcher.ts through the launcher) report it in this shape.
 */
export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /**
   * Set when toolcage lost track of the process and killed it itself — its launcher failed, so
   * no exit report could come (launcher.ts): why. The tool is not to blame then.
   */
  readonly lost?: string;
  /**
   * Set when the launcher saw the sandbox end before it started the tool's process (bwrap's
   * `--info-fd` stayed empty, or its sandbox process was gone before it was released; see
   * launcher/main.ts `release`): why. Nothing of the tool ran, so the failure is the sandbox's.
   */
  readonly sandboxFailed?: string;
}
