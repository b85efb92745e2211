import { describe, expect, test } from 'vitest';
import { classify, type Observation } from '../../src/runtime/classify.js';
import { ErrorKind } from '../../src/errors/kinds.js';
import type { WorkerMessage } from '../../src/runtime/worker/protocol.js';

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
  memoryExceeded: false,
  processesExceeded: false,
  denied: undefined,
  grantHint: undefined,
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
      'bwrap failed to set up',
      { exitCode: 1, stderrTail: "bwrap: Can't find source path /x: No such file" },
      ErrorKind.SpawnFailed,
    ],
    [
      'memory cgroup OOM',
      { memoryExceeded: true, signal: 'SIGKILL', exitCode: null },
      ErrorKind.OutOfMemory,
    ],
    [
      'Bun RangeError: Out of memory',
      { message: thrown('call', 'Out of memory', { name: 'RangeError' }) },
      ErrorKind.OutOfMemory,
    ],
    [
      'OOM on stderr',
      { exitCode: 134, stderrTail: 'RangeError: Out of memory' },
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
    ['worker protocol failure', { message: thrown('protocol') }, ErrorKind.Internal],
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
      'denied by the sandbox',
      { message: thrown('call', 'EACCES'), denied: 'read of /etc/shadow' },
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
    const denied = classify({
      ...base,
      message: thrown('call', 'nope'),
      denied: 'connect to 127.0.0.1:80',
    });
    expect(denied).toMatchObject({
      kind: 'permission_denied',
      message: 'Tool `t` was denied by the sandbox: connect to 127.0.0.1:80',
    });
  });
});
