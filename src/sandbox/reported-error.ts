/**
 * Reading a tool's error: which path, command or network target it names, and whether the
 * failed call was a write. All of it is the tool's own text (see errors/error-link.ts): these
 * readings say what the tool claims, and denials.ts decides from the sandbox plan alone whether
 * the sandbox refuses such an operation.
 */
import { posix } from 'node:path';
import type { ErrorLink } from '../errors/error-link.js';

const WRITE_SYSCALLS =
  /^(write|mkdir|mkdtemp|rmdir|rm|unlink|rename|copyfile|cp|symlink|link|chmod|chown|utime|futime|truncate|ftruncate|appendfile|writefile)/i;
// Bun reports `open` as the syscall of a failed writeFileSync/appendFileSync (observed, Bun 1.4):
// the top frame of the stack (`at writeFileSync (unknown)`) is what tells a write from a read.
const WRITE_FRAME =
  /^\s*at (?:\S+\.)?(?:writeFile|appendFile|createWriteStream|copyFile|cp|rename|mkdir|mkdtemp|symlink|link|truncate)(?:Sync)? /m;

/** A write, as far as the error tells (its syscall, or the fs call on top of its stack). */
export function isWrite(link: ErrorLink): boolean {
  return WRITE_SYSCALLS.test(link.syscall ?? '') || WRITE_FRAME.test(link.stack ?? '');
}

/**
 * The absolute path the error names (its `path`, or a quoted one in its message), normalised
 * so that `/tmp/../etc/x` is judged as `/etc/x`; undefined for none or a relative one.
 */
export function reportedPath(link: ErrorLink): string | undefined {
  const path = link.path ?? /'(\/[^']*)'/.exec(link.message)?.[1];
  if (path === undefined || !path.startsWith('/') || path.includes('\0')) return undefined;
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/**
 * The command of a failed spawn, when this error is one: Node's `spawn sh` / `spawnSync sh`
 * syscalls, Bun's `posix_spawn '…'` and "Executable not found in $PATH: "sh"".
 */
export function spawnTarget(link: ErrorLink): string | undefined {
  const syscall = link.syscall ?? '';
  const fromSyscall = /^(?:spawn|spawnSync|posix_spawn|execve?|fork|vfork)\b\s*(.*)$/.exec(syscall);
  if (fromSyscall !== null) {
    return basenameOf(link.path ?? (fromSyscall[1] || quoted(link.message) || 'a process'));
  }
  const notFound = /Executable not found in \$PATH: "([^"]+)"/.exec(link.message);
  if (notFound?.[1] !== undefined) return basenameOf(notFound[1]);
  const posixSpawn = /(?:posix_spawn|spawn(?:Sync)?|execve?)\s+'?([^'\s,]+)'?/.exec(link.message);
  if (posixSpawn?.[1] !== undefined && /EPERM|EACCES|ENOENT|EAGAIN/.test(link.message)) {
    return basenameOf(posixSpawn[1]);
  }
  return undefined;
}

/** Where a failed connection went: host and port as the error names them. */
export interface NetworkTarget {
  /** A name, an address, or `@name` for an abstract Unix socket; undefined when unnamed. */
  readonly host?: string;
  readonly port?: number;
}

/** The target of a failed connection, from Node's, Bun's and the DNS errors' wording. */
export function networkTarget(link: ErrorLink): NetworkTarget {
  // An abstract Unix socket (`\0name`): per network namespace, so the host's are out of reach.
  const at = link.message.indexOf('\0');
  const abstract = at === -1 ? undefined : /^[^\s\0]+/.exec(link.message.slice(at + 1))?.[0];
  if (abstract !== undefined) return { host: `@${abstract}` };
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3}):(\d+)/.exec(link.message);
  if (v4?.[1] !== undefined) return { host: v4[1], port: Number(v4[2]) };
  const v6 = /\[([0-9a-f:]+)\]:(\d+)/i.exec(link.message);
  if (v6?.[1] !== undefined) return { host: v6[1], port: Number(v6[2]) };
  const candidate = link.path ?? /(https?:\/\/[^\s'"]+)/.exec(link.message)?.[1];
  if (candidate !== undefined) {
    try {
      const url = new URL(candidate);
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      return url.port === '' ? { host } : { host, port: Number(url.port) };
    } catch {
      return { host: candidate };
    }
  }
  const host = /(?:getaddrinfo|querya+|lookup)\s+\S+\s+(\S+)/i.exec(link.message)?.[1];
  return host === undefined ? {} : { host };
}

function quoted(message: string): string | undefined {
  return /['"]([^'"]+)['"]/.exec(message)?.[1];
}

function basenameOf(command: string): string {
  const trimmed = command.trim();
  return trimmed.includes('/') ? trimmed.slice(trimmed.lastIndexOf('/') + 1) : trimmed;
}
