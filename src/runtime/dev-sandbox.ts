// TEMPORARY (lead's development shim until src/sandbox/sandbox.ts lands). Not committed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../sandbox/types.js';

export function createSandbox(): Sandbox {
  return {
    prepare(request) {
      const dir = mkdtempSync(join(tmpdir(), 'toolcage-'));
      return Promise.resolve({
        file: request.bunPath,
        args: [...request.bunArgs],
        env: { TMPDIR: dir, HOME: dir },
        cwd: dir,
        enforcement: {
          sandbox: 'none',
          namespaces: [],
          filesystem: 'host',
          network: 'host',
          environment: 'cleared',
          subprocesses: 'allowed',
          memory: { mechanism: 'none' },
          processes: { mechanism: 'none' },
          cpu: { mechanism: 'none' },
          fileSize: { mechanism: 'none' },
          kill: 'process-group',
        },
        killAll() {},
        inspect: () => Promise.resolve({ memoryExceeded: false, processesExceeded: false }),
        dispose() {
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      });
    },
  };
}
