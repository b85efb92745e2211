// Opens /dev/null up to `input.count` times, keeping every descriptor, until refused; closes
// them all and returns how many it got and why it stopped.
import { closeSync, openSync } from 'node:fs';

export default function openFiles(input: { count: number }) {
  const fds: number[] = [];
  let refused: string | undefined;
  try {
    for (let i = 0; i < input.count; i++) fds.push(openSync('/dev/null', 'r'));
  } catch (error) {
    refused = (error as NodeJS.ErrnoException).code;
  }
  for (const fd of fds) closeSync(fd);
  return { opened: fds.length, refused };
}
