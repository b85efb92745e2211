// Rejects with a non-Error value.
export default async function rejects() {
  await Promise.resolve();
  throw 'a plain string';
}
