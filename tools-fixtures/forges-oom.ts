// Throws Bun's out-of-memory error without using any memory (or prints it and aborts).
export default function forgesOom(input: { how?: 'throw' | 'stderr' } | null) {
  if (input?.how === 'stderr') {
    console.error('RangeError: Out of memory');
    process.exit(134);
  }
  throw new RangeError('Out of memory');
}
