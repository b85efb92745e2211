// Writes 1 MiB files into its temp dir until it has written `mb` MiB (default 2000); on a failed
// write it says how far it got on stderr, then rethrows.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export default function fillTmp(input: { mb?: number } | null) {
  const total = input?.mb ?? 2000;
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let written = 0;
  try {
    for (let i = 0; i < total; i++) {
      const fd = openSync(join(tmpdir(), `fill-${i}.bin`), 'w');
      try {
        written += writeSync(fd, chunk);
      } finally {
        closeSync(fd);
      }
    }
  } catch (error) {
    console.error(`written=${written}`);
    throw error;
  }
  return written;
}
