// Returns its input, synchronously.
export default function okSync(input: unknown) {
  return { echo: input };
}
