// Burns CPU forever (no I/O, no timers).
export default function spin() {
  let x = 0;
  for (;;) x = (x + 1) % 1_000_003;
}
