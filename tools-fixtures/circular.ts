// Returns a circular structure.
export default function circular() {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
}
