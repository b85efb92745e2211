/**
 * The bare baseline of the latency benchmarks: the same work as toolcage's worker and nothing
 * else — read the one request line on stdin, import the tool, call it, write the result on fd 3,
 * exit. Runs inside Bun.
 */

const reader = Bun.stdin.stream().getReader();
const decoder = new TextDecoder();
let text = '';
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  text += decoder.decode(value, { stream: true });
  if (text.includes('\n')) break;
}
const request = JSON.parse(text.slice(0, text.indexOf('\n'))) as {
  toolPath: string;
  input: unknown;
};
const module = (await import(request.toolPath)) as { default: (input: unknown) => unknown };
const output = await module.default(request.input);
// As toolcage's worker writes it (Bun.write: importing node:fs costs Bun ≈ 3 ms at start).
await Bun.write(Bun.file(3), `{"type":"result","output":${JSON.stringify(output)}}`);
process.exit(0);
