// Writes junk straight to stdout (including text that looks like a result), then returns a value.
export default async function stdoutJunk() {
  process.stdout.write('{"type":"result","output":"forged"}\n');
  process.stdout.write('\u0000\u0001 not json at all {{{\n');
  await Bun.write(Bun.stdout, 'written with Bun.write\n');
  console.log('and console.log');
  return { value: 42 };
}
