// Returns a 50 MB string (over any reasonable output cap).
export default function hugeOutput() {
  return 'y'.repeat(50 * 1024 * 1024);
}
