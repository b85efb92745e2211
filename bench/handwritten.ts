/**
 * What a user writes instead of toolcage (bench/cases/handwritten.ts): one file that reads its
 * input on stdin and writes its result on stdout, the trivial tool's work inline. The usual Bun
 * idiom; `process.stdin`/`process.stdout` would cost Bun more (they are set up lazily, ≈ 14 ms on
 * Bun 1.4 at their first use), so this is the faster of the two ways a user would write it.
 */

const input: unknown = JSON.parse(await Bun.stdin.text());
console.log(JSON.stringify({ echo: input }));
