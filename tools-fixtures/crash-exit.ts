// Exits the process with code 3 before returning anything.
export default function crashExit() {
  console.error('about to exit');
  process.exit(3);
}
