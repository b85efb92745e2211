/** What the bundler needs of a resolved tool (the runtime's ResolvedTool is one). */
export interface ToolSource {
  /** Registry id, or the file's base name for an ad-hoc tool. */
  readonly toolId: string;
  /** Absolute real path of the module. */
  readonly path: string;
  readonly exportName: string;
  /** Its registry entry: `bundle: false` runs it from its directory. */
  readonly definition: { readonly bundle?: boolean | undefined } | undefined;
}
