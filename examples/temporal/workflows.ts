/**
 * The example's workflow: two tools in a row on toolcage workers. Workflow code runs in
 * Temporal's sandbox: it imports `toolcage/temporal/workflow`, never `toolcage/temporal`.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { proxyToolActivities } from 'toolcage/temporal/workflow';

const { executeTool } = proxyToolActivities({ startToCloseTimeout: '1 minute' });

/** Counts the words of `text`, then shouts it with one mark per word. */
export async function shoutWords(text: string): Promise<{ words: number; shout: string }> {
  const counted = await executeTool<{ words: number }>({
    toolId: 'word-count',
    input: { text },
  });
  if (counted.output.words === 0) {
    throw ApplicationFailure.nonRetryable('Nothing to shout: the text has no words');
  }
  const shouted = await executeTool<{ text: string }>({
    toolId: 'shout',
    input: { text, marks: counted.output.words },
  });
  return { words: counted.output.words, shout: shouted.output.text };
}
