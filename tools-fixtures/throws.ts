// Throws an Error with a code.
export default function throws() {
  const error = new Error('the weather service said no') as Error & { code: string };
  error.code = 'E_WEATHER';
  throw error;
}
