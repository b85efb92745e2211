// A syntax error: loading this module fails (tool_error).
export default function broken( {
  return 1
