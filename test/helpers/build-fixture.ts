/**
 * The per-test fixture of the build tests (real builds): a fresh project and a build cache
 * beside it before each test; after it, whatever the test made is closed, and nothing of any
 * build may be left — no staging directory in the cache (failed builds included), no process,
 * no temp dir, no cgroup — before the project and the cache are removed.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { openFds, settledLeftovers } from './leaks.js';
import { makeProject, type Project } from './project.js';

/** The current test's project and cache directory (`${project.root}-cache`). */
export interface BuildFixture {
  readonly project: Project;
  readonly cacheDir: string;
}

/**
 * Registers the fixture's beforeEach/afterEach in the calling suite; `close` closes what the
 * test made (runtimes, bundlers) before the leak checks.
 */
export function useBuildFixture(close: () => Promise<unknown>): BuildFixture {
  let project: Project | undefined;
  let cacheDir = '';
  let baselineFds = 0;
  beforeEach(() => {
    baselineFds = openFds();
    project = makeProject();
    cacheDir = `${project.root}-cache`;
  });
  afterEach(async () => {
    await close();
    try {
      const staging = join(cacheDir, 'v2/tmp');
      expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]);
      const left = await settledLeftovers(baselineFds + 2, 5_000);
      expect(left.processes).toEqual([]);
      expect(left.tempDirs).toEqual([]);
      expect(left.cgroups).toEqual([]);
    } finally {
      project?.remove();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
  return {
    get project(): Project {
      if (project === undefined) throw new Error('the build fixture is used outside a test');
      return project;
    },
    get cacheDir(): string {
      return cacheDir;
    },
  };
}
