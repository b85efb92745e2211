// Says it is ready on stderr, then never settles (a timer keeps it alive).
export default function forever() {
  console.error('ready');
  setInterval(() => {}, 1_000);
  return new Promise(() => {});
}
