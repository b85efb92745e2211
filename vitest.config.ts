import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real processes, sandboxes and cgroups: files run one at a time so the leak
    // assertions of one file are not confused by the processes of another.
    fileParallelism: false,
    pool: 'forks',
    // Every runtime a test makes (and every CLI it runs) caches compiled tools in the worktree
    // (ignored by git), never in the user's ~/.cache/toolcage.
    // (CI's unprivileged runs point it at a directory of their own: TOOLCAGE_TEST_XDG_CACHE.)
    env: {
      XDG_CACHE_HOME:
        process.env['TOOLCAGE_TEST_XDG_CACHE'] ??
        fileURLToPath(new URL('./.vitest-tmp/xdg-cache', import.meta.url)),
    },
  },
});
