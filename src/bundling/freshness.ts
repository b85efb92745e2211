/**
 * Whether a build's inputs are still what it was built from: a `stat` of each input per call,
 * and a hash of its content only when the stat says it may have changed.
 *
 * The stat compares size, mtime, ctime and inode. Not mtime alone: npm writes every file of a
 * package with the same fixed mtime (1985-10-26), and a freed inode number is reused, so an
 * upgraded package can keep size, mtime and inode; ctime is set by the kernel on every change
 * and cannot be set back by anyone but the clock.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';

/** One input of a build, as it was when the build read it. */
export interface InputRecord {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  /** SHA-256 of the content, hex. */
  readonly sha256: string;
}

/** SHA-256 of a file's content, hex; undefined when it cannot be read. */
export function hashFile(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/** Records `path` as it is now; undefined when it is gone. */
export function recordInput(path: string): InputRecord | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  const sha256 = stat === undefined ? undefined : hashFile(path);
  if (stat === undefined || sha256 === undefined) return undefined;
  return { path, ...statFields(stat), sha256 };
}

/**
 * Checks every input. `fresh`: all unchanged (`records` holds the same list, or one with the
 * stats of files that were touched but kept their content); `stale`: one changed or is gone.
 */
export function checkInputs(
  records: readonly InputRecord[],
): { readonly fresh: true; readonly records: readonly InputRecord[] } | { readonly fresh: false } {
  let updated: InputRecord[] | undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const stat = statSync(record.path, { throwIfNoEntry: false });
    if (stat === undefined) return { fresh: false };
    if (sameStat(record, stat)) continue;
    if (hashFile(record.path) !== record.sha256) return { fresh: false };
    updated ??= [...records];
    updated[i] = { ...record, ...statFields(stat) };
  }
  return { fresh: true, records: updated ?? records };
}

/** What a stat says of a file's identity and content: enough to tell that it may have changed. */
export type StatFields = Omit<InputRecord, 'path' | 'sha256'>;

/** True when `stat` shows the file as `record` saw it. */
export function sameStat(record: StatFields, stat: StatFields): boolean {
  return (
    stat.size === record.size &&
    stat.mtimeMs === record.mtimeMs &&
    stat.ctimeMs === record.ctimeMs &&
    stat.ino === record.ino
  );
}

export function statFields(stat: Stats): StatFields {
  return { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino };
}
