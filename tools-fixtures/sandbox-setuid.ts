// Under a write grant (`input.dir`), tries to leave a setuid/setgid file on the host: one made
// with the bits at creation, one chmod-ed afterwards. Returns what each attempt gave.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const attempt = (work: () => void): string => {
  try {
    work();
    return 'ok';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
};

export default function setuid(input: { dir: string }) {
  const plain = join(input.dir, 'plain');
  return {
    create: attempt(() => writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 })),
    chmodSetuid: attempt(() => chmodSync(plain, 0o4755)),
    chmodSetgid: attempt(() => chmodSync(plain, 0o2755)),
    createSetuid: attempt(() => writeFileSync(join(input.dir, 'born'), 'x', { mode: 0o4755 })),
  };
}
