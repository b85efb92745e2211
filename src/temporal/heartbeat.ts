/**
 * Heartbeats of a running tool. With a heartbeat timeout, Temporal notices a worker that died
 * (no heartbeat in time) and retries the activity elsewhere; heartbeats are also how a worker
 * learns that the activity was cancelled.
 */

/** Sends a heartbeat now and every `heartbeatTimeoutMs / 3`; returns the function that stops it. */
export function startHeartbeats(
  heartbeatTimeoutMs: number | undefined,
  heartbeat: () => void,
): () => void {
  if (
    heartbeatTimeoutMs === undefined ||
    !Number.isFinite(heartbeatTimeoutMs) ||
    heartbeatTimeoutMs <= 0
  )
    return () => {};
  // Three beats per timeout: one lost or late beat does not time the activity out. The SDK
  // throttles what it sends to the server (at most one per 0.8 × the timeout) on its own.
  const interval = setInterval(heartbeat, Math.max(10, Math.floor(heartbeatTimeoutMs / 3)));
  heartbeat();
  return () => clearInterval(interval);
}
