// Fetches `url` (through HTTP_PROXY under an allow-list) and returns its status, whatever it is:
// a tool that handles a refusal itself and succeeds.
export default async function netFetchStatus(input: { url: string }) {
  const response = await fetch(input.url);
  await response.text();
  return response.status;
}
