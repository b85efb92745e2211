// Writes a static x86-64 ELF (it exits 42) to /tmp and tries to make it executable and to
// execve() it through bun:ffi — no `run` needed for an execve that replaces this process.
import { dlopen, ptr, read } from 'bun:ffi';
import { chmodSync, statSync, writeFileSync } from 'node:fs';

const ELF = Buffer.from(
  'f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAsABAAAAAAABAAAAAAAAAAAgBAAAAAAAAAAAAAEAAOAACAEAABAADAAEAAAAFAAAAsAAAAAAAAACwAEAAAAAAALAAQAAAAAAAPAAAAAAAAAA8AAAAAAAAAAgAAAAAAAAAUeV0ZAYAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAC4PAAAAL8qAAAADwXDAAAAFAAAAAAAAAABelIAAXgQARsMBwiQAQAAEAAAABwAAADQ////DQAAAAAAAAAALnNoc3RydGFiAC50ZXh0AC5laF9mcmFtZQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAsAAAABAAAABgAAAAAAAACwAEAAAAAAALAAAAAAAAAADQAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAARAAAAAQAAAAIAAAAAAAAAwABAAAAAAADAAAAAAAAAACwAAAAAAAAAAAAAAAAAAAAIAAAAAAAAAAAAAAAAAAAAAQAAAAMAAAAAAAAAAAAAAAAAAAAAAAAA7AAAAAAAAAAbAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAA==',
  'base64',
);

const attempt = (work: () => void): string => {
  try {
    work();
    return 'ok';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
};

export default function execTmp() {
  const bornExecutable = attempt(() => writeFileSync('/tmp/born', ELF, { mode: 0o755 }));
  const written = attempt(() => writeFileSync('/tmp/elf', ELF, { mode: 0o644 }));
  const chmod = attempt(() => chmodSync('/tmp/elf', 0o755));
  const mode = (statSync('/tmp/elf').mode & 0o777).toString(8);
  let libc;
  try {
    libc = dlopen('libc.so.6', {
      execve: { args: ['ptr', 'ptr', 'ptr'], returns: 'i32' },
      __errno_location: { args: [], returns: 'ptr' },
    });
  } catch {
    // bun:ffi needs the JIT, which JavaScriptCore cannot start under a tight RLIMIT_DATA.
    return { bornExecutable, written, chmod, mode, execve: 'no-ffi' };
  }
  const path = Buffer.from('/tmp/elf\0');
  const argv = new BigUint64Array([BigInt(ptr(path)), 0n]);
  const envp = new BigUint64Array([0n]);
  // Returns only when it failed; on success this process is the ELF, which exits 42.
  const status = libc.symbols.execve(ptr(path), ptr(argv), ptr(envp));
  const location = libc.symbols.__errno_location();
  const errno = location === null ? -1 : read.i32(location, 0);
  return { bornExecutable, written, chmod, mode, execve: status, errno };
}
