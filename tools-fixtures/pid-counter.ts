// Returns the pid of its process and how many times this module has been called in it.
let calls = 0;

export default function pidCounter() {
  calls++;
  return { pid: process.pid, calls };
}
