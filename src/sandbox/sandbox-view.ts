/**
 * Where a path lies in the filesystem view toolcage built for a tool, from the plan alone (the
 * grants, the visible roots bwrap-args.ts binds, the masks): outside it, read-only, writable, or
 * in a part that is the kernel's (`/proc`, `/dev`). The host is never asked: whether a host path
 * exists must not change what a tool's failure is called, or the verdict would tell the tool's
 * caller (and so the tool's author) what the host holds.
 */
import { isInside } from './permissions.js';
import { RUN_ROOT } from './system-view.js';
import type { ResolvedPermissions } from './types.js';

/** Where the private temp dir is, inside. */
export const PRIVATE_TMP = '/tmp';
/** The kernel's own trees inside: what is refused there is not decided by the view. */
const KERNEL_ROOTS = ['/proc', '/dev'];

/** What the runtime knows of the view besides the permissions. */
export interface ViewHint {
  /** Extra visible roots, read-only: the tool's module (or directory), Bun, the worker's files. */
  readonly visible?: readonly string[];
  /** Paths masked inside those roots and the grants (secret-bearing files): not in the view. */
  readonly masked?: readonly string[];
  /**
   * Directories under the private /tmp that are not part of it: a bundle's directory there is an
   * empty read-only tmpfs of its own (bwrap-args.ts), outside the view like any host directory.
   */
  readonly covered?: readonly string[];
}

/** Where a path lies in the view. */
export type Placement = 'outside' | 'read-only' | 'writable' | 'kernel';

/**
 * The placement of an absolute, normalised path: the innermost root that holds it decides (a
 * read grant under the private /tmp is read-only; a write grant under a read grant writable).
 */
export function placeInView(
  path: string,
  permissions: Pick<ResolvedPermissions, 'read' | 'write' | 'run'>,
  view: ViewHint = {},
): Placement {
  if ((view.masked ?? []).some((masked) => isInside(path, masked))) return 'outside';
  const roots: { readonly root: string; readonly placement: Placement }[] = [
    { root: PRIVATE_TMP, placement: 'writable' },
    ...(view.covered ?? []).map((root) => ({ root, placement: 'outside' as const })),
    ...KERNEL_ROOTS.map((root) => ({ root, placement: 'kernel' as const })),
    // Visible when `run` is granted (system-view.ts).
    ...(permissions.run ? RUN_ROOT : []).map((root) => readOnly(root)),
    ...(view.visible ?? []).map((root) => readOnly(root)),
    ...permissions.read.map((root) => readOnly(root)),
    ...permissions.write.map((root) => ({ root, placement: 'writable' as const })),
  ];
  let best: { readonly root: string; readonly placement: Placement } | undefined;
  for (const candidate of roots) {
    if (!isInside(path, candidate.root)) continue;
    // The innermost root wins; at equal depth a write grant (listed last) wins over a read one.
    if (best === undefined || candidate.root.length >= best.root.length) best = candidate;
  }
  return best?.placement ?? 'outside';
}

/** True for a path inside the tool's private /tmp (nothing granted or shown covers it). */
export function inPrivateTmp(
  path: string,
  permissions: Pick<ResolvedPermissions, 'read' | 'write'>,
  view: Pick<ViewHint, 'visible' | 'covered'> = {},
): boolean {
  if (!isInside(path, PRIVATE_TMP)) return false;
  const hostRoots = [
    ...permissions.read,
    ...permissions.write,
    ...(view.visible ?? []),
    ...(view.covered ?? []),
  ];
  return !hostRoots.some((root) => isInside(path, root));
}

function readOnly(root: string): { readonly root: string; readonly placement: Placement } {
  return { root, placement: 'read-only' };
}
