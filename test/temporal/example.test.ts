/**
 * examples/temporal/ stays true: it typechecks (against the sources, through its tsconfig's
 * paths), its workflow bundles through the built package's `toolcage/temporal/workflow` export
 * (as an application's would), and its registry's tools run through the activity.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { afterAll, describe, expect, test } from 'vitest';
import { readRegistryFile } from '../../src/cli/registry-file.js';
import { createToolRuntime } from '../../src/runtime/runtime.js';
import { createToolActivities } from '../../src/temporal/activities.js';
import { activityTestInfo } from '../../src/temporal/testing.js';
import type { ToolActivityResult } from '../../src/temporal/types.js';
import { TEST_SANDBOX } from '../helpers/runtime.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'temporal');
const built = existsSync(join(ROOT, 'dist', 'temporal', 'workflow.js'));
if (!built) {
  console.warn(
    '\n*** SKIPPED: bundling examples/temporal — dist/ is not built (`npm run build`; `npm test` builds first). ***\n',
  );
}

describe('examples/temporal', () => {
  test('typechecks', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(EXAMPLE, 'tsconfig.json')]).catch(
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? 'failed',
        stderr: error.stderr ?? '',
      }),
    );
    expect(`${result.stdout}${result.stderr}`).toBe('');
  }, 120_000);

  test.skipIf(!built)(
    'its workflow bundles through the package export, with the interceptors',
    async () => {
      const bundle = await bundleWorkflowCode({
        workflowsPath: join(EXAMPLE, 'workflows.ts'),
        workflowInterceptorModules: [join(ROOT, 'dist', 'temporal', 'workflow-interceptors.js')],
        logger: new DefaultLogger('ERROR', () => {}),
      });
      expect(bundle.code).toContain('shoutWords');
      expect(bundle.code).toContain('dist/temporal/workflow.js');
      expect(bundle.code).toContain('toolcageWorkflowMetrics');
    },
    120_000,
  );

  describe('its registry', () => {
    const runtime = createToolRuntime({
      ...readRegistryFile(join(EXAMPLE, 'registry.json')),
      sandbox: TEST_SANDBOX,
      telemetry: false,
    });
    afterAll(() => runtime.close());
    const executeTool = (request: object): Promise<ToolActivityResult> =>
      new MockActivityEnvironment(activityTestInfo(), {
        logger: new DefaultLogger('ERROR', () => {}),
      }).run(createToolActivities(runtime).executeTool, request);

    test('runs the two tools the workflow calls', async () => {
      const counted = await executeTool({
        toolId: 'word-count',
        input: { text: 'tools in a cage' },
      });
      expect(counted.output).toEqual({ text: 'tools in a cage', words: 4 });
      const shouted = await executeTool({
        toolId: 'shout',
        input: { text: 'tools in a cage', marks: 4 },
      });
      expect(shouted.output).toEqual({ text: 'TOOLS IN A CAGE!!!!' });
    });
  });
});
