// Returns a value JSON cannot carry (a BigInt).
export default function nonJson() {
  return { big: 10n };
}
