// Throws on line 7 of its own source: a bundled tool's stack must name this line, not the bundle's.
interface Input {
  readonly text: string;
}
export default function throwsOnLine7(input: Input): string {
  const text = input.text.toUpperCase();
  throw new Error(`refused ${text}`);
}
// (9 lines)
