import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The files of toolcage itself that Bun runs or reads. */
export interface PackageFiles {
  /** The worker's entry: what a tool process runs when its tool is not a bundle (and builds). */
  readonly worker: string;
  /** The worker itself (run.ts), which the entry runs and every tool's bundle carries. */
  readonly workerModule: string;
  /** The worker's directory (its slow paths are imported from there). */
  readonly workerDir: string;
  readonly launcher: string;
  /** The package's bunfig.toml, passed explicitly to every Bun process. */
  readonly bunfig: string;
}

// The worker and the launcher run as TypeScript from src/ (tests) and as JavaScript from dist/
// (the package).
function bunModule(name: 'worker/main' | 'worker/run' | 'launcher/main'): string {
  const url = new URL(
    `./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
    import.meta.url,
  );
  return fileURLToPath(url);
}

/** toolcage's own files; throws when the package is incomplete. */
export function packageFiles(): PackageFiles {
  const files = {
    worker: bunModule('worker/main'),
    workerModule: bunModule('worker/run'),
    workerDir: fileURLToPath(new URL('./worker/', import.meta.url)),
    launcher: bunModule('launcher/main'),
    // src/runtime/ and dist/runtime/ are both one level below the package root.
    bunfig: fileURLToPath(new URL('../../bunfig.toml', import.meta.url)),
  };
  for (const path of [files.worker, files.workerModule, files.bunfig]) {
    if (!existsSync(path)) throw new Error(`toolcage is incomplete: missing ${path}`);
  }
  return files;
}
