/** A tool of the engine example: counts the words of `input.text`. */
export default function wordCount(input: { text?: unknown }): { words: number } {
  const text = typeof input?.text === 'string' ? input.text : '';
  return { words: text.split(/\s+/).filter(Boolean).length };
}
