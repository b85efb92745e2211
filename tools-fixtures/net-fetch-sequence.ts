// Fetches `url` `count` times, one after the other, and returns how long each request took,
// measured inside the tool (ms): the bench's per-request cost of the egress proxy.
export default async function fetchSequence(input: { url: string; count: number }) {
  const times: number[] = [];
  for (let i = 0; i < input.count; i++) {
    const started = performance.now();
    const response = await fetch(input.url);
    await response.arrayBuffer();
    times.push(performance.now() - started);
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${input.url}`);
  }
  return times;
}
