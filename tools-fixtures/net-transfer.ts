// Sends `bytes` bytes (i % 251) to `${base}/echo` and downloads as many from
// `${base}/pattern?n=…`, through HTTP_PROXY: what the server received and what came back, hashed.
import { createHash } from 'node:crypto';

export default async function transfer(input: { base: string; bytes: number; insecure?: boolean }) {
  const tls = input.insecure === true ? { tls: { rejectUnauthorized: false } } : {};
  const body = new Uint8Array(input.bytes).map((_, i) => i % 251);
  const up = await fetch(`${input.base}/echo`, { method: 'POST', body, ...tls } as RequestInit);
  const received = (await up.json()) as unknown;
  const down = new Uint8Array(
    await (await fetch(`${input.base}/pattern?n=${input.bytes}`, tls as RequestInit)).arrayBuffer(),
  );
  return {
    received,
    downloaded: { bytes: down.length, sha256: createHash('sha256').update(down).digest('hex') },
  };
}
