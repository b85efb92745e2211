// Throws an error whose message is 1 MB, wrapped in causes: the message that crosses is cut.
export default function throwsHuge() {
  const inner = new Error('é'.repeat(1_000_000));
  throw new Error('x'.repeat(1_000_000), { cause: inner });
}
