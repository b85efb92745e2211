// Counts the words of a text.
export default function wordCount(input: { text: string }) {
  const words = input.text.split(/\s+/).filter((word) => word !== '');
  return { text: input.text, words: words.length };
}
