// Writes a 100 MiB file in its temp dir, 1 MiB at a time.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export default function write100mb() {
  const fd = openSync(join(tmpdir(), 'big.bin'), 'w');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  try {
    for (let i = 0; i < 100; i++) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return 100;
}
