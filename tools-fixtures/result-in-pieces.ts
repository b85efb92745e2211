// Writes a result on fd 3 itself: half of it, 150 ms later the rest (a whole message, fd 3 still
// open), 150 ms later exits (which ends fd 3).
import { writeSync } from 'node:fs';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default async function resultInPieces() {
  writeSync(3, '{"type":"result","output":{"whole":');
  await pause(150);
  writeSync(3, 'true}}');
  await pause(150);
  process.exit(0);
}
