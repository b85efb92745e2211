import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A module of the built package under `root` (`dist/<path>`), for the bench scripts that run in
 * a Node process of their own (bench/node-script.ts); typed by the caller from src/.
 */
export async function fromDist<T>(root: string, path: string): Promise<T> {
  return (await import(pathToFileURL(join(root, 'dist', path)).href)) as T;
}
