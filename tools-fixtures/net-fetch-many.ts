// Fetches every URL, all at once or one after the other (through HTTP_PROXY with an
// allow-list); any response that is not 2xx is an error. Returns the bodies' lengths.
export default async function fetchMany(input: { urls: string[]; sequential?: boolean }) {
  const one = async (url: string): Promise<number> => {
    const response = await fetch(url);
    const body = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}: ${body.trim()}`);
    return body.length;
  };
  if (input.sequential !== true) return await Promise.all(input.urls.map(one));
  const lengths: number[] = [];
  for (const url of input.urls) lengths.push(await one(url));
  return lengths;
}
