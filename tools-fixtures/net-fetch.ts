// Fetches `url` (through HTTP_PROXY when the sandbox has an allow-list) and returns the body;
// a response that is not 2xx is an error. `insecure` accepts a self-signed certificate.
export default async function netFetch(input: { url: string; insecure?: boolean }) {
  const response = await fetch(
    input.url,
    input.insecure === true ? ({ tls: { rejectUnauthorized: false } } as RequestInit) : {},
  );
  const body = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${input.url}: ${body.trim()}`);
  return body;
}
