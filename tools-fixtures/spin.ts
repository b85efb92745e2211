// Says it is ready, then spins on the CPU without ever yielding.
export default function spin() {
  console.error('ready');
  for (;;) {
    // busy
  }
}
