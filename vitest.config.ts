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
  },
});
