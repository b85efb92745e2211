// What the sandbox's /dev offers: the devices a program expects, and nothing to write to or to
// open a terminal with. Returns what each attempt gave (an error code, or what it did).
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';

function attempt(action: () => string): string {
  try {
    return action();
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
}

export default function sandboxDev() {
  // 16 bytes read from a device: all zeros, or not.
  const bytes = (path: string) => () => {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(16);
      if (readSync(fd, buffer, 0, 16, null) !== 16) return 'short';
      return buffer.every((byte) => byte === 0) ? 'zeros' : 'bytes';
    } finally {
      closeSync(fd);
    }
  };
  return {
    entries: readdirSync('/dev').sort(),
    null: attempt(() => {
      writeFileSync('/dev/null', 'x');
      return readFileSync('/dev/null').length === 0 ? 'ok' : 'not empty';
    }),
    zero: attempt(bytes('/dev/zero')),
    urandom: attempt(bytes('/dev/urandom')),
    random: attempt(bytes('/dev/random')),
    full: attempt(() => {
      writeFileSync('/dev/full', 'x');
      return 'written';
    }),
    fd: attempt(() => readlinkSync('/dev/fd')),
    // Writes: /dev itself is read-only; /dev/shm leads into the tool's own /tmp.
    createInDev: attempt(() => {
      writeFileSync('/dev/x', 'x');
      return 'written';
    }),
    shm: attempt(() => {
      writeFileSync('/dev/shm/toolcage-shm', 'x');
      return readFileSync('/tmp/toolcage-shm', 'utf8') === 'x' ? 'in /tmp' : 'elsewhere';
    }),
    // Terminals: no tty, no devpts instance, no ptmx.
    ...Object.fromEntries(
      ['/dev/ptmx', '/dev/pts/ptmx', '/dev/tty', '/dev/console'].map((path) => [
        path,
        attempt(() => {
          closeSync(openSync(path, 'r+'));
          return 'opened';
        }),
      ]),
    ),
  };
}
