import { accessSync, closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runProbe } from '../sandbox/probe.js';

/**
 * Finds the Bun binary: `TOOLCAGE_BUN` when set, else the one the npm package `bun` installed
 * (a dependency of toolcage). Never from PATH: the version toolcage was tested with is the one
 * it runs.
 */
export function resolveBunBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['TOOLCAGE_BUN'];
  if (override !== undefined && override !== '') return override;
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('bun/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    bin?: Record<string, string>;
  };
  // The package's postinstall replaces bin/bun.exe with the platform binary; before that it is
  // a placeholder, so fall back to the platform package it copies from.
  const candidates = [
    join(dirname(manifestPath), manifest.bin?.['bun'] ?? 'bin/bun.exe'),
    ...platformPackages().map((name) => {
      try {
        return join(dirname(require.resolve(`${name}/package.json`)), 'bin', 'bun');
      } catch {
        return '';
      }
    }),
  ];
  for (const candidate of candidates) {
    if (candidate !== '' && isExecutableBinary(candidate)) return candidate;
  }
  return candidates[0]!;
}

function platformPackages(): string[] {
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x64';
  return [
    `@oven/bun-${process.platform}-${arch}`,
    `@oven/bun-${process.platform}-${arch}-baseline`,
  ];
}

function isExecutableBinary(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    const head = Buffer.alloc(4);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    // ELF (Linux, FreeBSD) or Mach-O (macOS): the placeholder the package ships is neither.
    return head.toString('latin1') === '\x7fELF' || head[0] === 0xcf || head[0] === 0xca;
  } catch {
    return false;
  }
}

const versions = new Map<string, Promise<string>>();

/**
 * `bun --version` of a binary, asked once per binary; `unknown` when it cannot run (a spawn then
 * fails clearly). Never rejects.
 */
export function bunVersion(bunPath: string): Promise<string> {
  let version = versions.get(bunPath);
  if (version === undefined) {
    version = runProbe(bunPath, ['--version']).then((probe) =>
      probe.ok ? probe.stdout.trim() : 'unknown',
    );
    versions.set(bunPath, version);
  }
  return version;
}
