// Returns its process's pid, an id drawn when its module was loaded (unique per process, even
// where pids repeat across PID namespaces), and how many times it has been called there.
const instance = crypto.randomUUID();
let calls = 0;

export default function pidCounter() {
  calls++;
  return { pid: process.pid, instance, calls };
}
