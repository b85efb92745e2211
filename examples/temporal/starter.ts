/**
 * Starts the example workflow and prints its result. Any Temporal client does the same: the
 * workflow type is `shoutWords`, the task queue `toolcage-example`.
 */
import { Client, Connection } from '@temporalio/client';
import type { shoutWords } from './workflows.js';

const connection = await Connection.connect({
  address: process.env['TEMPORAL_ADDRESS'] ?? 'localhost:7233',
});
try {
  const client = new Client({ connection });
  const text = process.argv.slice(2).join(' ') || 'tools in a cage';
  const result = await client.workflow.execute<typeof shoutWords>('shoutWords', {
    taskQueue: 'toolcage-example',
    workflowId: `shout-words-${Date.now()}`,
    args: [text],
  });
  console.log(result); // { words: 4, shout: 'TOOLS IN A CAGE!!!!' }
} finally {
  await connection.close();
}
