import { describe, expect, test } from 'vitest';
import { runProbe } from '../../src/sandbox/probe.js';

describe('runProbe', () => {
  test('returns what the command printed', async () => {
    expect(await runProbe('/bin/sh', ['-c', 'printf "out\\n"; printf err >&2'])).toEqual({
      ok: true,
      stdout: 'out',
      stderr: 'err',
      failure: '',
    });
  });

  test('runs with an empty environment and no stdin (a read ends at once)', async () => {
    process.env['TOOLCAGE_PROBE_SECRET'] = 'host';
    try {
      const probe = await runProbe('/bin/sh', [
        '-c',
        'cat; printf "[%s]" "$TOOLCAGE_PROBE_SECRET"',
      ]);
      expect(probe.stdout).toBe('[]');
    } finally {
      delete process.env['TOOLCAGE_PROBE_SECRET'];
    }
  });

  test('a failure is a value with its reason: stderr, else what execa saw', async () => {
    const failed = await runProbe('/bin/sh', ['-c', 'echo "no luck" >&2; exit 3']);
    expect(failed).toMatchObject({ ok: false, failure: 'no luck' });
    const silent = await runProbe('/bin/sh', ['-c', 'exit 4']);
    expect(silent.ok).toBe(false);
    expect(silent.failure).toContain('exit code 4');
    const missing = await runProbe('/nonexistent/toolcage-probe', []);
    expect(missing.ok).toBe(false);
    expect(missing.failure).toContain('ENOENT');
  });
});
