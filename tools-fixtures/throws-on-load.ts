// Builds, but its top level throws when the module is imported: a load error (tool_error).
throw new Error('this module fails as it loads');

export default function throwsOnLoad() {
  return 'unreachable';
}
