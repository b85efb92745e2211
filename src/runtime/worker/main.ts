/**
 * The worker's entry for a tool that is not a bundle (`bundle: false`) and for builds: it runs
 * the worker (run.ts), which imports the module the request names. A bundled tool's process
 * runs the tool's bundle instead, which carries run.ts itself.
 *
 * Awaited at the top level, so the entry module stays pending until the process exits: Bun
 * runs a full garbage collection once its entry module has finished loading while anything is
 * pending on its event loop (as the read of the request is), and a pending entry never
 * finishes (docs/performance.md, "The worker entry's top-level await").
 */
import { startWorker } from './run.js';

await startWorker();
