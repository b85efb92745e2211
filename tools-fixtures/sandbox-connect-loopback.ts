// Fetches http://127.0.0.1:<port>/ (a server of the test on the host's loopback).
export default async function connectLoopback(input: { port: number }) {
  const response = await fetch(`http://127.0.0.1:${input.port}/`);
  return await response.text();
}
