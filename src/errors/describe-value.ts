/**
 * How a wrong value is shown in a TypeError for option misuse: "`-1` (number)", as execa and
 * p-queue word it ("Expected `timeoutMs` to be a positive integer, got `-1` (number)"). Used by
 * every validator (runtime options, permissions, limits), so it belongs to none of them.
 */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `\`${text}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`;
}
