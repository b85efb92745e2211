/**
 * The sandbox's `/dev` (bwrap-args.ts mounts it, then remounts it read-only): the five devices a
 * program expects to open, the descriptor links, and `/dev/shm` pointing into the private `/tmp`.
 * Not bwrap's `--dev`, whose tmpfs the tool owns (observed: a write to `/dev/x` or `/dev/shm/x`
 * "succeeded", in memory no `tmpMb` bounds) and which adds `/dev/tty` and a devpts instance with
 * `/dev/ptmx`, where any tool could open pseudo-terminals (the tty layer: kernel code no tool
 * needs).
 */
import { isInside } from './permissions.js';

/** Where the sandbox's devices appear. */
export const DEVICE_DIR = '/dev';

// The character devices bound in from the host.
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom'] as const;

/** One entry of the sandbox's `/dev`, as bwrap-args.ts mounts it. */
export type DeviceMount =
  | { readonly op: '--tmpfs'; readonly dest: string; readonly sizeBytes: undefined }
  | { readonly op: '--dev-bind'; readonly src: string; readonly dest: string }
  | { readonly op: '--symlink'; readonly target: string; readonly dest: string };

/**
 * The mounts of the sandbox's `/dev`, its tmpfs first; `scratch` is the private temp dir that
 * `/dev/shm` leads to. A granted path under `/dev` is the host's, as granted: the entry it covers
 * is left out (the grant's bind comes after this tmpfs; a grant of `/` or `/dev` itself comes
 * before it, and the tmpfs covers it).
 */
export function deviceMounts(grants: readonly string[], scratch: string): DeviceMount[] {
  const entries: DeviceMount[] = [
    ...DEVICES.map((name): DeviceMount => {
      const path = `${DEVICE_DIR}/${name}`;
      return { op: '--dev-bind', src: path, dest: path };
    }),
    { op: '--symlink', target: '/proc/self/fd', dest: `${DEVICE_DIR}/fd` },
    ...['stdin', 'stdout', 'stderr'].map((name, fd): DeviceMount => ({
      op: '--symlink',
      target: `/proc/self/fd/${fd}`,
      dest: `${DEVICE_DIR}/${name}`,
    })),
    // POSIX shared memory (shm_open) lands in the private temp dir, under its `tmpMb`.
    { op: '--symlink', target: scratch, dest: `${DEVICE_DIR}/shm` },
  ];
  const under = grants.filter((grant) => grant !== DEVICE_DIR && isInside(grant, DEVICE_DIR));
  return [
    { op: '--tmpfs', dest: DEVICE_DIR, sizeBytes: undefined },
    ...entries.filter((entry) => !under.some((grant) => isInside(entry.dest, grant))),
  ];
}
