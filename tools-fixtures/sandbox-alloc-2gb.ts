// Allocates and touches 2 GiB, 64 MiB at a time (outside the JS heap: Buffers).
export default function alloc2gb() {
  const chunks: Buffer[] = [];
  for (let i = 0; i < 32; i++) chunks.push(Buffer.alloc(64 * 1024 * 1024, 1));
  return chunks.length;
}
