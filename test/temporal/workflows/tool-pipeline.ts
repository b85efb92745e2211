/**
 * A workflow of the tests (bundled by the SDK's webpack): two tools in a row through
 * proxyToolActivities, the second fed the first's output.
 */
import { proxyToolActivities } from '../../../src/temporal/workflow.js';

const { executeTool } = proxyToolActivities({ startToCloseTimeout: '1 minute' });

/** Runs `echo` on the text, then `upper` on what `echo` returned. */
export async function toolPipeline(request: { text: string }): Promise<{
  first: unknown;
  second: unknown;
}> {
  const first = await executeTool({ toolId: 'echo', input: { text: request.text } });
  const second = await executeTool({ toolId: 'upper', input: first.output });
  return { first: first.output, second: second.output };
}

/** Runs one tool and returns its output (for the cancellation test: a tool that blocks). */
export async function singleTool(request: {
  toolId: string;
  timeoutMs?: number;
}): Promise<unknown> {
  const result = await executeTool({
    toolId: request.toolId,
    ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
  });
  return result.output;
}
