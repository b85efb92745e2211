// Returns the variables named in input.names as the tool sees them.
export default function envReader(input: { names: string[] }) {
  const seen: Record<string, string | null> = {};
  for (const name of input.names) seen[name] = process.env[name] ?? null;
  return { seen, count: Object.keys(process.env).length };
}
