// Throws from a timer callback (outside the promise it returns), then would return a value.
export default async function throwsInTimer() {
  setTimeout(() => {
    throw new TypeError('thrown from a timer');
  }, 5);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return 'should not be the result';
}
