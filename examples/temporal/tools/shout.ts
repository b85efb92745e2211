// Upper-cases a text, with as many exclamation marks as it is told.
export default function shout(input: { text: string; marks?: number }) {
  return { text: `${input.text.toUpperCase()}${'!'.repeat(input.marks ?? 1)}` };
}
