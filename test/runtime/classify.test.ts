import { describe, expect, test } from 'vitest';
import { classify, type Observation } from '../../src/runtime/classify.js';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { WorkerMessage } from '../../src/runtime/worker/protocol.js';
import type { Denial } from '../../src/errors/denial.js';

const base: Observation = {
  toolId: 't',
  reason: undefined,
  timeoutMs: 1000,
  maxOutputBytes: 100,
  resultBytes: 0,
  spawnError: undefined,
  exitCode: 0,
  signal: null,
  lost: undefined,
  message: undefined,
  stderrTail: '',
  sandboxFailed: undefined,
  memoryExceeded: false,
  processesExceeded: false,
  denial: undefined,
  limitHit: undefined,
  limitDetail: undefined,
};
const result = (output: unknown): WorkerMessage => ({ type: 'result', output });
const thrown = (
  phase: 'load' | 'call' | 'export' | 'output' | 'protocol',
  message = 'boom',
  extra = {},
): WorkerMessage => ({
  type: 'error',
  phase,
  error: { name: 'Error', message, ...extra },
});

const reported: Denial = {
  operation: 'read',
  path: '/etc/shadow',
  reason: 'outside its sandbox view',
  observedBy: 'tool',
};
const refused: Denial = {
  operation: 'net',
  host: 'evil.example',
  port: 443,
  reason: 'not in the allow-list',
  observedBy: 'proxy',
};

describe('classify', () => {
  test.each<[string, Partial<Observation>, string]>([
    ['a result', { message: result(1), resultBytes: 28 }, 'success'],
    [
      'the recorded timeout beats a late result',
      { reason: 'timeout', message: result(1), signal: 'SIGKILL' },
      ErrorKind.Timeout,
    ],
    ['cancel', { reason: 'cancelled', signal: 'SIGKILL', exitCode: null }, ErrorKind.Cancelled],
    ['close', { reason: 'closed', signal: 'SIGKILL', exitCode: null }, ErrorKind.Cancelled],
    [
      'output cap crossed while streaming',
      { reason: 'output_limit', signal: 'SIGKILL' },
      ErrorKind.OutputLimit,
    ],
    [
      'output over the cap by less than the frame',
      { message: result('x'), resultBytes: 27 + 101 },
      ErrorKind.OutputLimit,
    ],
    ['spawn error', { spawnError: new Error('ENOENT'), exitCode: null }, ErrorKind.SpawnFailed],
    [
      'the launcher saw bwrap end before it made the sandbox',
      {
        exitCode: 1,
        sandboxFailed: 'bwrap ended before it made the sandbox',
        stderrTail: 'bwrap: setting up uid map: Permission denied',
      },
      ErrorKind.SpawnFailed,
    ],
    [
      'memory cgroup OOM',
      { memoryExceeded: true, signal: 'SIGKILL', exitCode: null },
      ErrorKind.OutOfMemory,
    ],
    [
      'Bun RangeError: Out of memory while the memory cgroup saw the limit',
      { memoryExceeded: true, message: thrown('call', 'Out of memory', { name: 'RangeError' }) },
      ErrorKind.OutOfMemory,
    ],
    ['thrown', { message: thrown('call') }, ErrorKind.ToolError],
    ['failed to load', { message: thrown('load', 'Cannot find package x') }, ErrorKind.ToolError],
    [
      'missing export',
      { message: thrown('export', 'export `default` is missing') },
      ErrorKind.ToolNotFound,
    ],
    ['unserialisable output', { message: thrown('output') }, ErrorKind.InvalidOutput],
    ['a protocol failure on fd 3', { message: thrown('protocol') }, ErrorKind.InvalidOutput],
    ['junk on fd 3', { message: 'invalid' }, ErrorKind.InvalidOutput],
    ['exit 0 without result', { exitCode: 0 }, ErrorKind.InvalidOutput],
    ['exit 3 without result', { exitCode: 3 }, ErrorKind.Crashed],
    ['SIGSEGV', { exitCode: null, signal: 'SIGSEGV' }, ErrorKind.Crashed],
    [
      'killed by toolcage when its launcher failed',
      { exitCode: null, signal: 'SIGKILL', lost: 'the toolcage launcher failed: it exited' },
      ErrorKind.Internal,
    ],
    [
      'a result that came before the launcher failed',
      { message: result(1), signal: 'SIGKILL', lost: 'the toolcage launcher failed: it exited' },
      'success',
    ],
    [
      'a tool error that came before the launcher failed',
      { message: thrown('call'), signal: 'SIGKILL', lost: 'the toolcage launcher failed' },
      ErrorKind.ToolError,
    ],
    [
      'a denial the plan confirms',
      { message: thrown('call', 'EACCES'), denial: reported },
      ErrorKind.PermissionDenied,
    ],
    [
      'a connection the egress proxy refused',
      { message: thrown('call', 'HTTP 403'), denial: refused },
      ErrorKind.PermissionDenied,
    ],
    ['CPU rlimit', { exitCode: null, signal: 'SIGXCPU', limitHit: 'cpu' }, ErrorKind.ResourceLimit],
    [
      'file size rlimit',
      { message: thrown('call', 'EFBIG'), limitHit: 'file_size' },
      ErrorKind.ResourceLimit,
    ],
    ['pids cgroup', { exitCode: 1, processesExceeded: true }, ErrorKind.ResourceLimit],
  ])('%s', (_name, observed, expected) => {
    const verdict = classify({ ...base, ...observed });
    expect(verdict.ok ? 'success' : verdict.kind).toBe(expected);
    if (!verdict.ok) expect(verdict.message).toMatch(/^Tool `t`/);
  });

  test('messages say what happened to which tool, with the detail', () => {
    const timeout = classify({ ...base, reason: 'timeout', timeoutMs: 2000 });
    expect(timeout).toMatchObject({ ok: false, message: 'Tool `t` timed out after 2000 ms' });
    const crash = classify({ ...base, exitCode: 3, stderrTail: 'line one\nfatal: disk on fire\n' });
    expect(crash).toMatchObject({
      message:
        'Tool `t` crashed: it exited with code 3 without a result; stderr: fatal: disk on fire',
    });
    expect(classify({ ...base, message: thrown('call', 'nope'), denial: refused })).toEqual({
      ok: false,
      kind: 'permission_denied',
      message:
        'Tool `t` was denied by the sandbox: connect to evil.example:443: not in the allow-list',
      toolError: { name: 'Error', message: 'nope' },
      denial: refused,
    });
  });

  test('a denial only the tool reports says so, and suggests no grant of what it named', () => {
    const verdict = classify({ ...base, message: thrown('call', 'EACCES'), denial: reported });
    expect(verdict).toMatchObject({
      kind: 'permission_denied',
      message:
        'Tool `t` reported that a read of /etc/shadow was denied (outside its sandbox view); the caller grants reads with permissions.read (--allow-read)',
      denial: reported,
    });
    expect(verdict.ok ? '' : verdict.message).not.toMatch(/allow-read \/etc\/shadow|grant it/);
  });
});

// What the tool's process writes (fd 3, stderr, its exit code) is its claim: never a system kind.
describe('classify: what a tool can forge', () => {
  test.each<[string, Partial<Observation>, string]>([
    [
      'the prologue’s failure line on stderr, exit 125',
      {
        exitCode: 125,
        stderrTail: 'toolcage-sandbox: cannot join the cgroup /sys/fs/cgroup/pids/toolcage/1/tasks',
      },
      ErrorKind.Crashed,
    ],
    [
      'bwrap’s failure line on stderr, exit 1',
      { exitCode: 1, stderrTail: "bwrap: Can't find source path /x: No such file or directory" },
      ErrorKind.Crashed,
    ],
    [
      'a thrown RangeError: Out of memory, no cgroup event',
      { message: thrown('call', 'Out of memory', { name: 'RangeError' }) },
      ErrorKind.ToolError,
    ],
    [
      'Out of memory on stderr, exit 134, no cgroup event',
      { exitCode: 134, stderrTail: 'RangeError: Out of memory' },
      ErrorKind.Crashed,
    ],
    [
      'an error of phase `protocol`',
      { message: thrown('protocol', 'no request on stdin') },
      ErrorKind.InvalidOutput,
    ],
    [
      'an error of a phase nobody knows',
      {
        message: { type: 'error', phase: 'spawn', error: { name: 'Error', message: 'x' } } as never,
      },
      ErrorKind.InvalidOutput,
    ],
    [
      'an error that is not an object',
      { message: { type: 'error', phase: 'call', error: null } as never },
      ErrorKind.ToolError,
    ],
    [
      'an EACCES naming /etc/shadow the plan does not confirm',
      {
        message: thrown('call', "EACCES: permission denied, open '/etc/shadow'", {
          code: 'EACCES',
        }),
      },
      ErrorKind.ToolError,
    ],
  ])('%s', (_name, observed, expected) => {
    const verdict = classify({ ...base, ...observed });
    expect(verdict.ok ? 'success' : verdict.kind).toBe(expected);
  });

  test('a forged sandbox failure is quoted in the crash, where a reader still sees it', () => {
    const verdict = classify({
      ...base,
      exitCode: 125,
      stderrTail: 'toolcage-sandbox: cannot join the cgroup /x/tasks\n',
    });
    expect(verdict).toMatchObject({
      kind: 'crashed',
      message:
        'Tool `t` crashed: it exited with code 125 without a result; stderr: toolcage-sandbox: cannot join the cgroup /x/tasks',
    });
  });
});
