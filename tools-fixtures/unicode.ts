// Returns text outside ASCII: accents, CJK, emoji, and a lone combining mark.
export default function unicode(input: { text?: string }) {
  return { text: input?.text ?? 'héllo 世界 🧪 e\u0301', length: [...(input?.text ?? '')].length };
}
