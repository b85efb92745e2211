// Floods its logs for `ms` milliseconds: the same block of tiny lines (`0` to `perWrite - 1`)
// written to stdout again and again, and after each block its number as a line on stderr; then
// returns how many blocks it wrote.
export default function logFlood(input: { ms?: number; perWrite?: number }) {
  const end = Date.now() + (input?.ms ?? 1000);
  const perWrite = input?.perWrite ?? 1000;
  const block = Array.from({ length: perWrite }, (_, i) => i).join('\n');
  let blocks = 0;
  while (Date.now() < end) {
    console.log(block);
    console.error(blocks++);
  }
  return { blocks, perWrite };
}
