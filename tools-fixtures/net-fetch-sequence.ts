// Fetches `url` `count` times, one after the other (the bench's per-request cost).
export default async function fetchSequence(input: { url: string; count: number }) {
  let bytes = 0;
  for (let i = 0; i < input.count; i++) {
    const response = await fetch(input.url);
    bytes += (await response.arrayBuffer()).byteLength;
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${input.url}`);
  }
  return bytes;
}
