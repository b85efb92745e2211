/**
 * promtool for the tests of the rules files: where it is, the loud skip when it is missing
 * (a failure under TOOLCAGE_REQUIRE_ALL=1), `promtool test rules` on a generated test file, and
 * the folded annotations of a rules file that its expectations quote.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where promtool is: `PROMTOOL_BIN`, else /usr/bin/promtool; undefined when missing. */
export function findPromtool(): string | undefined {
  const candidate = process.env['PROMTOOL_BIN'] || '/usr/bin/promtool';
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return undefined;
  }
}

/**
 * promtool for a test file's checks of `part`, called at the file's top level. `skip` is true
 * only when promtool is missing and TOOLCAGE_REQUIRE_ALL is not 1 (then a loud warning says
 * so); under TOOLCAGE_REQUIRE_ALL=1 the checks run and fail on the missing binary.
 */
export function promtoolForTests(part: string): {
  readonly promtool: string | undefined;
  readonly skip: boolean;
} {
  const promtool = findPromtool();
  const requireAll = process.env['TOOLCAGE_REQUIRE_ALL'] === '1';
  const skip = promtool === undefined && !requireAll;
  if (skip) {
    console.warn(
      `\n*** SKIPPED: promtool checks of ${part} — no promtool (apt-get install prometheus, ` +
        'or set PROMTOOL_BIN). Set TOOLCAGE_REQUIRE_ALL=1 to make this a failure. ***\n',
    );
  }
  return { promtool, skip };
}

/** `promtool check rules FILE`'s standard output (rejects when promtool refuses the file). */
export async function promtoolCheck(promtool: string, file: string): Promise<string> {
  return (await run(promtool, ['check', 'rules', file])).stdout;
}

/** Runs `promtool test rules` on a generated test file; the combined output, failing or not. */
export async function promtoolTest(promtool: string, tests: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'promtool-test-'));
  try {
    const testFile = join(dir, 'rules.test.yml');
    await writeFile(testFile, tests);
    const result = await run(promtool, ['test', 'rules', testFile]).catch(
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );
    return `${result.stdout}${result.stderr}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A folded (`key: >-`) annotation of `alert` in a rules file: its lines joined, templates unrendered. */
export function foldedAnnotation(file: string, alert: string, key: string): string {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`- alert: ${alert}`);
  const at = text.indexOf(`${key}: >-\n`, start);
  const lines: string[] = [];
  for (const line of text.slice(at).split('\n').slice(1)) {
    if (!line.startsWith('            ')) break;
    lines.push(line.trim());
  }
  return lines.join(' ');
}

/**
 * The head of a `promtool test rules` file: `rulesFile` loaded and evaluated every minute, one
 * test group sampled every minute; its `input_series:` entries follow on the next lines.
 */
export const ruleTestsHead = (rulesFile: string): string => `
rule_files:
  - ${JSON.stringify(rulesFile)}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:`;
