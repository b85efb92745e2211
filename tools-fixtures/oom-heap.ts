// Allocates without bound until memory runs out.
export default function oomHeap() {
  const hold: unknown[] = [];
  console.error('ready');
  for (;;) hold.push(new Array(1_000_000).fill(Math.random()));
}
