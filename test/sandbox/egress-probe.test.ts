import { describe, expect, test } from 'vitest';
import { probeEgress } from '../../src/sandbox/egress-probe.js';
import { detectCapabilities } from '../../src/sandbox/detect.js';
import { renderDoctor } from '../../src/cli/doctor.js';
import { doctorRows } from '../../src/sandbox/doctor-rows.js';
import { toolcageTempDirs } from '../helpers/leaks.js';
import { BUN, sandboxAvailability } from './harness.js';

const available = await sandboxAvailability();

describe('the doctor probe of allow-lists', () => {
  test.skipIf(!available.ok)('a sandboxed process reaches its egress proxy here', async () => {
    const caps = await detectCapabilities();
    const before = toolcageTempDirs().length;
    const probe = await probeEgress({
      bwrapPath: caps.bwrap.path,
      bunPath: BUN,
      userNamespace: caps.userNamespaces.available,
    });
    expect(probe).toEqual({
      available: true,
      detail: 'a process in a sandbox with no route out reached its egress proxy',
    });
    expect(toolcageTempDirs().length).toBeLessThanOrEqual(before);
    const row = doctorRows(caps, '', probe).find((r) => r.component === 'network allow-lists');
    expect(row).toMatchObject({ status: 'ok', fix: '' });
    expect(renderDoctor(caps, { mounts: '', egress: probe })).toContain('network allow-lists');
  });

  test('without bubblewrap, or with one that fails, allow-lists are reported missing', async () => {
    const missing = await probeEgress({ bwrapPath: undefined, bunPath: BUN, userNamespace: false });
    expect(missing.available).toBe(false);
    expect(missing.detail).toContain('bubblewrap');
    const failing = await probeEgress({
      bwrapPath: '/bin/false',
      bunPath: BUN,
      userNamespace: false,
    });
    expect(failing.available).toBe(false);
    expect(failing.detail).toContain('failed');
    const caps = await detectCapabilities();
    const row = doctorRows(caps, '', failing).find((r) => r.component === 'network allow-lists');
    expect(row).toMatchObject({ status: 'missing' });
    expect(row?.fix).toContain('bubblewrap');
  });
});
