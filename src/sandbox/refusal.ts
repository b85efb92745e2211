/**
 * The sandbox's "no": what it cannot enforce on this machine, and why. The sandbox only says
 * it; the runtime turns it into the call's `spawn_failed` error (with the call's tool id and
 * execution id, which the sandbox does not know).
 */

/** Thrown by `Sandbox.prepare()` when a permission or limit cannot be enforced here. */
export class SandboxRefusal extends Error {
  override readonly name = 'SandboxRefusal';
  /** What cannot be enforced: "its permissions", "`limits.memoryMb` (512)", "`run: false`". */
  readonly what: string;
  /** Why, and what to do about it: "bubblewrap (bwrap) is not installed (`apt-get install bubblewrap`)…". */
  readonly reason: string;

  constructor(what: string, reason: string) {
    super(`the sandbox cannot enforce ${what}: ${reason}`);
    this.what = what;
    this.reason = reason;
  }
}
