// Leaves a rejected promise nobody handles, then would return a value.
export default async function unhandledRejection() {
  void Promise.reject(new Error('nobody handled this'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  return 'should not be the result';
}
