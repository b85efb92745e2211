/**
 * The mounts that hide secret-bearing entries (found by src/bundling/call-masks.ts) inside the
 * directories the sandbox shows. A file is covered by a bind of {@link MASK_FILE_SOURCE}; a
 * directory by an empty tmpfs of mode 0000, made read-only (bwrap-args.ts, `--tmpfs-ro`): the
 * tool has no capability to override the mode, so listing it or opening anything under it fails
 * with EACCES (observed as uid 65534 in a user namespace: `cat`, `ls` and a write under it say
 * "Permission denied"), classified `permission_denied` like a masked file — an empty
 * directory would have answered ENOENT, a missing file of the tool's own.
 */
import type { MaskedEntry } from './types.js';

/**
 * What a masked file is bound to. In a user namespace every mount is `nodev`, so opening this
 * device node fails with EACCES (observed: `cat` of the masked path says
 * "Permission denied", classified `permission_denied`); without one it reads as empty.
 */
export const MASK_FILE_SOURCE = '/dev/null';

/** One mask, as bwrap-args.ts mounts it. */
export type MaskMount =
  | { readonly op: '--ro-bind'; readonly src: string; readonly dest: string }
  | { readonly op: '--tmpfs-ro'; readonly dest: string };

/** The mounts of `masked`, to be mounted after the directories they lie in. */
export function maskMounts(masked: readonly MaskedEntry[]): MaskMount[] {
  return masked.map((entry): MaskMount =>
    entry.type === 'directory'
      ? { op: '--tmpfs-ro', dest: entry.path }
      : { op: '--ro-bind', src: MASK_FILE_SOURCE, dest: entry.path },
  );
}
