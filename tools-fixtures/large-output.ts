// Returns a string of `input.bytes` ASCII bytes (default 1 MB): large but allowed output.
export default function largeOutput(input: { bytes?: number }) {
  return 'x'.repeat(input?.bytes ?? 1_000_000);
}
