/**
 * A manager (a process running a runtime) stopped mid-execution leaves nothing behind: with
 * closeOnSignals it cleans up before it ends; killed without a chance to, the next runtime's
 * sweep removes what it left. Runtimes of two live processes never remove each other's files.
 * The managers are real child processes (test/helpers/manager-process.ts) running real tools.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createToolRuntimeOn } from '../../src/runtime/runtime.js';
import { startSweeping } from '../../src/runtime/sweeper.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import {
  expectNothingLeft,
  launcherProcesses,
  openFds,
  toolcageCgroups,
  toolcageTempDirs,
  toolProcesses,
} from '../helpers/leaks.js';
import { FIXTURES, TEST_SANDBOX } from '../helpers/runtime.js';

const VITE_NODE = fileURLToPath(
  new URL('../../node_modules/vite-node/vite-node.mjs', import.meta.url),
);
const MANAGER = fileURLToPath(new URL('../helpers/manager-process.ts', import.meta.url));

interface Manager {
  readonly child: ChildProcess;
  readonly owner: string;
  /** Resolves with the rest of the first stdout line that starts with `word`. */
  line(word: string): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

// Starts a manager process and waits for its owner tag.
async function startManager(args: readonly string[]): Promise<Manager> {
  const child = spawn(process.execPath, [VITE_NODE, MANAGER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const seen: string[] = [];
  const waiters: { word: string; resolve: (rest: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    seen.push(text);
    for (const waiter of [...waiters]) {
      if (text.startsWith(`${waiter.word} `) || text === waiter.word) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(text.slice(waiter.word.length + 1));
      }
    }
  });
  const line = (word: string): Promise<string> => {
    const found = seen.find((text) => text === word || text.startsWith(`${word} `));
    if (found !== undefined) return Promise.resolve(found.slice(word.length + 1));
    return Promise.race([
      new Promise<string>((resolve) => waiters.push({ word, resolve })),
      exited.then((end) => {
        throw new Error(`the manager ended (${JSON.stringify(end)}) before \`${word}\`: ${stderr}`);
      }),
    ]);
  };
  const owner = await line('owner');
  return { child, owner, line, exited, stderr: () => stderr };
}

// Everything a manager's runtime made that is still there: by its owner tag.
function leftOf(owner: string) {
  return {
    tempDirs: toolcageTempDirs(tmpdir(), [], owner),
    cgroups: toolcageCgroups(owner, true),
    processes: toolProcesses(owner),
  };
}

const NOTHING = { tempDirs: [], cgroups: [], processes: [] };

// Waits until `check` holds or `ms` have passed (the caller asserts what is left then);
// returns how long it took.
async function within(ms: number, check: () => boolean): Promise<number> {
  const started = performance.now();
  await vi
    .waitFor(() => expect(check()).toBe(true), { timeout: ms, interval: 10 })
    .catch(() => undefined);
  return performance.now() - started;
}

const MODES = [...new Set(['none', TEST_SANDBOX] as const)];

let baselineFds = 0;
beforeEach(() => {
  baselineFds = openFds();
});
afterEach(async () => {
  await expectNothingLeft(baselineFds, 5_000);
});

describe('a manager stopped mid-execution', () => {
  test.each(MODES)(
    'sandbox %s: SIGTERM with closeOnSignals kills the tool and removes its sandbox before the process ends by SIGTERM',
    async (mode) => {
      const manager = await startManager([mode, 'forever.ts', '--close-on-signals']);
      await manager.line('ready');
      const before = leftOf(manager.owner);
      expect(before.cgroups.length).toBeGreaterThan(0);
      if (mode === 'none') expect(before.tempDirs.length).toBeGreaterThan(0);
      manager.child.kill('SIGTERM');
      expect(await manager.exited).toEqual({ code: null, signal: 'SIGTERM' });
      // Nothing at all, at once: no sweep is needed.
      expect(leftOf(manager.owner)).toEqual(NOTHING);
      expect(launcherProcesses().filter((line) => line.includes(manager.owner))).toEqual([]);
    },
    60_000,
  );

  test.each(
    MODES.flatMap((mode) => [
      [mode, 'SIGKILL'],
      [mode, 'SIGTERM'],
    ]) as [string, NodeJS.Signals][],
  )(
    'sandbox %s: killed by %s without a handler, the next runtime removes everything it left',
    async (mode, signal) => {
      const manager = await startManager([mode, 'forever.ts']);
      await manager.line('ready');
      const before = leftOf(manager.owner);
      expect(before.cgroups.length).toBeGreaterThan(0);
      if (mode === 'none') expect(before.tempDirs.length).toBeGreaterThan(0);
      manager.child.kill(signal);
      expect(await manager.exited).toEqual({ code: null, signal });
      await expectSweptByNextRuntime(manager.owner);
    },
    60_000,
  );
});

describe('a manager that ends without closing its runtime', () => {
  test.each(MODES)(
    'sandbox %s: its spares (the next launch’s cgroups and temp dir) go with it at exit',
    async (mode) => {
      const manager = await startManager([mode, 'ok-sync.ts', '1', '--exit']);
      expect(await manager.line('result')).toBe('{"echo":1}');
      expect(await manager.exited).toEqual({ code: 0, signal: null });
      // Nothing at all, at once: its execution's were removed after it settled, its spares by
      // the exit hook (the manager's directory with them).
      expect(leftOf(manager.owner)).toEqual(NOTHING);
    },
    60_000,
  );
});

// Starts a runtime of this process and expects its start sweep to leave nothing of `owner`.
async function expectSweptByNextRuntime(owner: string): Promise<void> {
  const runtime = createToolRuntimeOn(
    { rootDir: FIXTURES, sandbox: TEST_SANDBOX, telemetry: false },
    createSandbox(),
  );
  try {
    const ms = await within(10_000, () => {
      const left = leftOf(owner);
      return left.tempDirs.length + left.cgroups.length + left.processes.length === 0;
    });
    console.info(`swept ${owner} in ${ms.toFixed(0)} ms after the next runtime started`);
    expect(leftOf(owner)).toEqual(NOTHING);
    // Its launcher ended with it (the end of its stdin).
    expect(launcherProcesses().filter((line) => line.includes(owner))).toEqual([]);
  } finally {
    await runtime.close();
  }
}

describe('runtimes side by side', () => {
  test("one process's runtime and its sweeps never touch another live process's files", async () => {
    // The other manager is unsandboxed, so that its execution has a host temp dir to lose.
    const other = await startManager(['none', 'keeps-tmp-file.ts', '{"waitMs":3000}']);
    await other.line('ready');
    const theirs = leftOf(other.owner);
    expect(theirs.tempDirs.length).toBeGreaterThan(0);
    expect(theirs.cgroups.length).toBeGreaterThan(0);
    const sandbox = createSandbox();
    const runtime = createToolRuntimeOn(
      { rootDir: FIXTURES, sandbox: TEST_SANDBOX, telemetry: false },
      sandbox,
    );
    // Background sweeps as often as the timer allows, besides the one at the start.
    let sweeps = 0;
    const sweeper = startSweeping(async () => {
      sweeps++;
      return sandbox.sweep();
    }, 5);
    try {
      for (let i = 0; i < 5; i++) {
        const result = await runtime.executeToolWithTimeout({ toolPath: 'ok-sync.ts', input: i });
        expect(result.output).toEqual({ echo: i });
        expect(await sandbox.sweep()).toEqual({ tempDirs: [], cgroups: [] });
      }
      for (const dir of [...theirs.tempDirs, ...theirs.cgroups]) expect(existsSync(dir)).toBe(true);
    } finally {
      await sweeper.stop();
      await runtime.close();
    }
    expect(sweeps).toBeGreaterThan(1);
    // Its tool read back its file: nothing removed it.
    expect(await other.line('result')).toBe('"still here"');
    expect(await other.exited).toEqual({ code: 0, signal: null });
    expect(leftOf(other.owner).tempDirs).toEqual([]);
  }, 60_000);

  test('a sweep never removes what this process made, nor names without an owner', async () => {
    const runtime = createToolRuntimeOn(
      { rootDir: FIXTURES, sandbox: 'none', telemetry: false },
      createSandbox(),
    );
    // Named as toolcage named temp dirs before it recorded owners: nothing says whose it is.
    const legacy = join(tmpdir(), `toolcage-sweep-test-${process.pid}`);
    mkdirSync(legacy);
    try {
      const running = runtime.executeToolWithTimeout({
        toolPath: 'keeps-tmp-file.ts',
        input: { waitMs: 500 },
      });
      await within(5_000, () => toolcageTempDirs().some((dir) => !dir.includes('-launcher-')));
      expect(await createSandbox().sweep()).toEqual({ tempDirs: [], cgroups: [] });
      expect((await running).output).toBe('still here');
      expect(existsSync(legacy)).toBe(true);
    } finally {
      rmSync(legacy, { recursive: true, force: true });
      await runtime.close();
    }
  });
});
