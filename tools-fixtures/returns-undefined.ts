// Returns nothing: the result is null.
export default function returnsUndefined() {}
