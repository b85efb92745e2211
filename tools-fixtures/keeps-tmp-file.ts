// Writes a file into its temp dir, says it is ready, waits `waitMs`, then returns what the file
// holds by then (the file must still be there: nothing else may remove a live execution's dir).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export default async function keepsTmpFile(input: { waitMs?: number } | null) {
  const file = join(tmpdir(), 'kept.txt');
  writeFileSync(file, 'still here');
  console.error('ready');
  await new Promise((resolve) => setTimeout(resolve, input?.waitMs ?? 1_000));
  return readFileSync(file, 'utf8');
}
