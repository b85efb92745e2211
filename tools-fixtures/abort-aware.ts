// Waits for context.signal to abort, then records that it saw the abort on stderr.
export default function abortAware(_input: unknown, context: { signal: AbortSignal }) {
  console.error('ready');
  return new Promise((_resolve, reject) => {
    context.signal.addEventListener('abort', () => {
      console.error('saw abort');
      reject(new Error('aborted'));
    });
  });
}
