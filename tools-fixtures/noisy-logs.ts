// Prints many log lines on both streams, then returns how many it printed.
export default function noisyLogs(input: { lines?: number }) {
  const lines = input?.lines ?? 1000;
  for (let i = 0; i < lines; i++) {
    console.log(`out line ${i}`);
    console.error(`err line ${i}`);
  }
  return { lines };
}
