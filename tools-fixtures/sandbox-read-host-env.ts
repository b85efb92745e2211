// Returns the whole environment the tool sees.
export default function readHostEnv() {
  return { ...process.env };
}
