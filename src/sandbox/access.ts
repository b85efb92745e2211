/** Whether this process may use a path (access(2)): a missing path answers false. */
import { accessSync, constants } from 'node:fs';

/** True when this process may execute (`x`) or write (`w`) `path`. */
export function mayAccess(path: string, how: 'x' | 'w'): boolean {
  try {
    accessSync(path, how === 'x' ? constants.X_OK : constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
