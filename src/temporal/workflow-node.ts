/**
 * `toolcage/temporal/workflow` as Node imports it (the package's `node` export condition: a
 * starter, a test, a replay). The same exports as workflow.ts, which it loads; without
 * `@temporalio/workflow` it fails with the message `toolcage/temporal` gives for a missing peer
 * (naming the package to install) instead of Node's bare ERR_MODULE_NOT_FOUND, which a static
 * import would raise before any of this module ran. Temporal's workflow bundler (webpack, web
 * target: no `node` condition) takes workflow.ts itself, which imports no Node module.
 */
import { createRequire } from 'node:module';
import { requireOptional } from './require-optional.js';
import type * as Workflow from './workflow.js';

requireOptional('@temporalio/workflow', createRequire(import.meta.url).resolve);
const workflow: typeof Workflow = await import('./workflow.js');

export const {
  EXECUTE_TOOL_ACTIVITY,
  NON_RETRYABLE_ERROR_TYPES,
  RETRYABLE_KINDS,
  TOOL_ACTIVITY_DEFAULTS,
  isRetryableFailure,
  proxyToolActivities,
} = workflow;
export type {
  ToolActivitiesProxy,
  ToolActivityRequest,
  ToolActivityResult,
  ToolFailureDetails,
} from './workflow.js';
