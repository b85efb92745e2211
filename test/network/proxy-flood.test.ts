/**
 * The attack on the egress proxy, end to end: a process standing in for a tool opens 20,000
 * connections to its execution's proxy socket, each with an unfinished ~15 KB request head.
 * The manager (this process, which holds the runtime and its proxy) must keep its descriptors
 * under a fixed budget, and executions started meanwhile must succeed: one with `net: false`,
 * one through its allow-list to a loopback server. Real bubblewrap and Bun; every server is on
 * 127.0.0.1 and the attacker connects only to the Unix socket.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SOCKET_NAME } from '../../src/network/session.js';
import { detectCapabilities } from '../../src/sandbox/detect.js';
import { ownedTempPrefix } from '../../src/sandbox/sweep.js';
import type { ToolRuntime } from '../../src/runtime/runtime.js';
import { fixtureRuntime } from '../helpers/runtime.js';
import { BUN } from '../sandbox/harness.js';

const CONNECTIONS = 20_000;
// What the proxy may hold for the attacked session (2 × 32 + 4 sockets) and the two executions
// started meanwhile (their pipes, launcher and proxy sockets), with room for a loaded machine.
// Before the fix the manager went from ~30 to ~17,000 descriptors.
const FD_BUDGET = 400;

async function bwrapMissing(): Promise<string | undefined> {
  const caps = await detectCapabilities();
  const missing = !caps.bwrap.works
    ? `bubblewrap (${caps.bwrap.detail})`
    : !existsSync(BUN)
      ? `Bun at ${BUN}`
      : undefined;
  if (missing === undefined) return undefined;
  if (process.env['TOOLCAGE_REQUIRE_ALL'] === '1') {
    throw new Error(`TOOLCAGE_REQUIRE_ALL=1: missing ${missing}`);
  }
  console.warn(`*** PROXY FLOOD TEST SKIPPED: missing ${missing} ***`);
  return missing;
}
const missing = await bwrapMissing();

// The attacker: connects until CONNECTIONS were accepted (retrying EAGAIN from a full backlog),
// writes an unfinished head on each, holds every connection the proxy keeps, reports, and exits
// when its stdin closes.
const ATTACKER = `
import { connect } from 'node:net';
const [path, total] = [process.argv[1], Number(process.argv[2])];
const head = 'GET http://allowed.test/ HTTP/1.1\\r\\nHost: allowed.test\\r\\nX-Pad: ' + 'a'.repeat(15_000);
const counts = { connected: 0, closedByProxy: 0, failed: 0, retried: 0 };
const held = new Set();
let pending = 0;
function attempt() {
  if (counts.connected + counts.failed + pending >= total) return;
  pending++;
  const socket = connect(path);
  let connected = false;
  socket.on('connect', () => {
    connected = true;
    pending--;
    counts.connected++;
    held.add(socket);
    socket.write(head);
    if (counts.connected % 2000 === 0) console.log(JSON.stringify({ progress: counts.connected }));
    attempt();
  });
  socket.on('error', (error) => {
    if (connected) return;
    pending--;
    if (error.code === 'EAGAIN') counts.retried++;
    else counts.failed++;
    setImmediate(attempt);
  });
  socket.on('close', () => {
    if (held.delete(socket)) counts.closedByProxy++;
  });
  socket.resume();
}
for (let i = 0; i < 256; i++) attempt();
const done = setInterval(() => {
  if (counts.connected + counts.failed < total || pending > 0) return;
  clearInterval(done);
  setTimeout(() => console.log(JSON.stringify({ ...counts, held: held.size })), 500);
}, 50);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

interface FloodReport {
  readonly connected: number;
  readonly closedByProxy: number;
  readonly failed: number;
  readonly retried: number;
  readonly held: number;
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe.skipIf(missing !== undefined)('a flood of connections to the proxy socket', () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('keeps the manager under its descriptor budget; executions started meanwhile succeed', async () => {
    const runtime = fixtureRuntime({
      sandbox: 'bwrap',
      defaults: { permissions: { net: ['allowed.test'] } },
      network: { hosts: { 'allowed.test': '127.0.0.1' }, allowPrivateAddresses: ['127.0.0.0/8'] },
    });
    const holder = new AbortController();
    let held: Promise<unknown> = Promise.resolve();
    try {
      // Warm the build cache and the runtime so the baseline holds what they keep anyway.
      await runtime.executeToolWithTimeout({
        toolPath: 'ok-sync.ts',
        input: 1,
        permissions: { net: false },
      });
      const running = await startHolder(runtime, holder.signal);
      held = running.held;
      const manager = sampleManager();
      const attacker = startAttacker(running.socketPath);
      try {
        // Executions started while the flood runs.
        const [offline, online] = await Promise.all([
          runtime.executeToolWithTimeout({
            toolPath: 'ok-sync.ts',
            input: { during: 'flood' },
            permissions: { net: false },
          }),
          runtime.executeToolWithTimeout({
            toolPath: 'net-fetch.ts',
            input: { url: `http://allowed.test:${port}/during-flood` },
          }),
        ]);
        expect(offline.output).toEqual({ echo: { during: 'flood' } });
        expect(online.output).toBe(`hello /during-flood`);

        const flood = await attacker.report;
        const { baseline, maxFds, rssGrowthMib } = manager.stop();
        console.log(
          `flood: ${JSON.stringify(flood)}; manager fds ${baseline} → max ${maxFds}; ` +
            `rss +${rssGrowthMib} MiB`,
        );
        // The attack happened: every connection was accepted, and all but the cap were closed.
        expect(flood.connected).toBe(CONNECTIONS);
        expect(flood.held).toBeLessThanOrEqual(32);
        expect(flood.closedByProxy).toBeGreaterThanOrEqual(CONNECTIONS - 32);
        expect(maxFds - baseline).toBeLessThan(FD_BUDGET);
      } finally {
        manager.stop();
        await attacker.stop();
      }
    } finally {
      holder.abort();
      await held;
      await runtime.close();
    }
  }, 180_000);
});

// Runs forever.ts under the allow-list until it is ready; its proxy session's socket.
async function startHolder(
  runtime: ToolRuntime,
  signal: AbortSignal,
): Promise<{ readonly held: Promise<unknown>; readonly socketPath: string }> {
  const before = new Set(readdirSync(tmpdir()));
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const held = runtime
    .executeToolWithTimeout({
      toolPath: 'forever.ts',
      timeoutMs: 120_000,
      signal,
      onLog: (_stream, line) => line === 'ready' && ready(),
    })
    .catch((error: unknown) => error);
  // A holder that fails instead of getting ready fails the test with its error.
  await Promise.race([isReady, held.then((error) => Promise.reject(error as Error))]);
  return { held, socketPath: sessionSocket(before) };
}

// Samples this process's (the manager's) descriptors and resident memory every 5 ms.
function sampleManager() {
  const baseline = openFds();
  const rssBefore = process.memoryUsage().rss;
  let maxFds = baseline;
  let maxRss = rssBefore;
  const sampler = setInterval(() => {
    maxFds = Math.max(maxFds, openFds());
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }, 5);
  return {
    stop() {
      clearInterval(sampler);
      return { baseline, maxFds, rssGrowthMib: Math.round((maxRss - rssBefore) / 1024 / 1024) };
    },
  };
}

// The attacker as a process of its own, its descriptor limit raised (within the hard limit
// when it may not raise that): its final report, and a way to end it.
function startAttacker(socketPath: string) {
  const attacker = spawn(
    'sh',
    [
      '-c',
      'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" --input-type=module -e "$1" "$2" "$3"',
      process.execPath,
      ATTACKER,
      socketPath,
      String(CONNECTIONS),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => attacker.once('exit', resolve));
  const report = new Promise<FloodReport>((resolve, reject) => {
    let buffered = '';
    attacker.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        const parsed = JSON.parse(line) as Partial<FloodReport> & { progress?: number };
        if (parsed.progress === undefined) resolve(parsed as FloodReport);
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    attacker.once('exit', (code) => reject(new Error(`the attacker exited (${code})`)));
  });
  // A test that failed before it awaited the report must not add an unhandled rejection.
  report.catch(() => undefined);
  return {
    report,
    async stop() {
      attacker.stdin.end();
      await exited;
    },
  };
}

// The socket of the one session that appeared since `before` (this process's owner tag).
function sessionSocket(before: ReadonlySet<string>): string {
  const prefix = ownedTempPrefix('net');
  const made = readdirSync(tmpdir()).filter((name) => name.startsWith(prefix) && !before.has(name));
  if (made.length !== 1) throw new Error(`expected one new proxy session, found ${made.length}`);
  return join(tmpdir(), made[0]!, SOCKET_NAME);
}
