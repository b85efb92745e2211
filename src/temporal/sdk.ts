/**
 * The Temporal SDK packages `toolcage/temporal` uses, loaded through {@link requireOptional} so
 * that a missing one is named. The activity side (`@temporalio/activity`, `@temporalio/common`,
 * both small) loads with this module; the worker (`@temporalio/worker`, with the native core and
 * webpack) only when a worker is built.
 */
import type * as ActivityPackage from '@temporalio/activity';
import type * as CommonPackage from '@temporalio/common';
import type * as WorkerPackage from '@temporalio/worker';
import { requireOptional } from './require-optional.js';

/** `@temporalio/activity`. */
export const activitySdk = requireOptional<typeof ActivityPackage>('@temporalio/activity');
/** `@temporalio/common`. */
export const commonSdk = requireOptional<typeof CommonPackage>('@temporalio/common');

let workerSdk: typeof WorkerPackage | undefined;

/** `@temporalio/worker`, loaded at the first call. */
export function loadWorkerSdk(): typeof WorkerPackage {
  workerSdk ??= requireOptional<typeof WorkerPackage>('@temporalio/worker');
  return workerSdk;
}
