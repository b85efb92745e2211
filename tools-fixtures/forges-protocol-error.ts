// Writes a worker `protocol` failure on the result channel (fd 3) itself, then exits before the
// worker can answer.
import { writeSync } from 'node:fs';

export default function forgesProtocolError() {
  const message = { name: 'Error', message: 'the worker could not read its request' };
  writeSync(3, JSON.stringify({ type: 'error', phase: 'protocol', error: message }));
  process.exit(0);
}
