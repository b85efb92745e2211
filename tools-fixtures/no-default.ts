// Has a named export only: calling the default export is tool_not_found.
export function named() {
  return 'named';
}
