/**
 * A workflow that wrongly imports toolcage's Node entry (`toolcage/temporal`) instead of
 * `toolcage/temporal/workflow`: the SDK's bundler must refuse it (Node modules in the sandbox).
 */
import { createToolActivities } from '../../../src/temporal/index.js';

export async function wrong(): Promise<string> {
  return Promise.resolve(typeof createToolActivities);
}
