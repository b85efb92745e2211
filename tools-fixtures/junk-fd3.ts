// Writes junk on the result channel (fd 3) and exits before the worker can answer.
import { writeSync } from 'node:fs';

export default function junkFd3() {
  writeSync(3, 'this is not a protocol message');
  process.exit(0);
}
