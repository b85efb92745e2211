/**
 * How the sandbox wires an allow-list: the bwrap command line (pure), and `prepare()` refusing
 * (a refusal: the call's `spawn_failed`) when the egress proxy cannot start — never a fallback to the whole network.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EGRESS_ARG } from '../../src/network/in-sandbox.js';
import { normalizeNetworkOptions } from '../../src/network/network-options.js';
import { createEgressProxy } from '../../src/network/proxy.js';
import { buildBwrapArgs, bwrapNamespaces, type BwrapInput } from '../../src/sandbox/bwrap-args.js';
import { resolveLimits } from '../../src/sandbox/limits.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';
import { SandboxRefusal } from '../../src/sandbox/refusal.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import type { LaunchRequest, Permissions } from '../../src/sandbox/types.js';
import { rejectionOf } from '../helpers/runtime.js';
import { BUN, BUN_ARGS, FIXTURES, RUNTIME_FILES, sandboxAvailability } from '../sandbox/harness.js';

const available = await sandboxAvailability();

function input(permissions: Permissions, egressDir?: string): BwrapInput {
  return {
    bunPath: '/opt/bun/bun',
    bunArgs: ['/rt/worker.ts'],
    tool: { kind: 'bundle', file: '/tools/t.ts', source: '/cache/t.js' },
    runtimeFiles: ['/rt/worker.ts'],
    permissions: resolvePermissions(permissions),
    env: { API: 'x', HTTP_PROXY: 'http://elsewhere' },
    tmpBytes: 64 * 1024 * 1024,
    system: { libraries: [], runRoot: [], runEtc: [], netEtc: ['/etc/resolv.conf'] },
    userNamespace: true,
    hostRoot: false,
    seccompFd: undefined,
    egressDir,
  };
}

function setenv(args: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--setenv') env[args[i + 1]!] = args[i + 2]!;
  }
  return env;
}

describe('the bwrap command line of an allow-list', () => {
  test('its own network namespace, the socket directory read-only, the proxy variables', () => {
    const args = buildBwrapArgs(input({ net: ['allowed.test'] }, '/tmp/toolcage-net-1'));
    expect(args).toContain('--unshare-net');
    expect(args.join(' ')).toContain('--ro-bind /tmp/toolcage-net-1 /run/toolcage');
    // The proxy resolves names: no resolver configuration inside.
    expect(args).not.toContain('/etc/resolv.conf');
    const env = setenv(args);
    for (const name of [
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'ALL_PROXY',
      'http_proxy',
      'https_proxy',
      'all_proxy',
    ]) {
      expect(env[name]).toBe('http://127.0.0.1:3128');
    }
    expect(env['API']).toBe('x');
    expect(env['NO_PROXY']).toBeUndefined();
    expect(bwrapNamespaces(input({ net: ['allowed.test'] }))).toContain('net');
  });

  test('`net: true` shares the host namespace and has no proxy; `false` has neither', () => {
    const whole = buildBwrapArgs(input({ net: true }));
    expect(whole).not.toContain('--unshare-net');
    expect(whole).toContain('/etc/resolv.conf');
    expect(setenv(whole)['HTTP_PROXY']).toBe('http://elsewhere');
    expect(bwrapNamespaces(input({ net: true }))).not.toContain('net');
    const none = buildBwrapArgs(input({ net: false }));
    expect(none).toContain('--unshare-net');
    expect(none.join(' ')).not.toContain('/run/toolcage');
  });
});

describe.skipIf(!available.ok)('prepare() with an allow-list', () => {
  const roots: string[] = [];
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  function request(tmpTool = 'ok-sync.ts', mode: LaunchRequest['mode'] = 'bwrap'): LaunchRequest {
    return {
      launchId: 'egress-test',
      bunPath: BUN,
      bunArgs: BUN_ARGS,
      toolPath: `${FIXTURES}${tmpTool}`,
      runtimeFiles: RUNTIME_FILES,
      env: {},
      permissions: resolvePermissions({ net: ['allowed.test'] }),
      limits: resolveLimits(),
      mode,
    };
  }

  test('a sandbox without an egress proxy refuses an allow-list', async () => {
    const error = await rejectionOf(createSandbox().prepare(request()));
    expect(error).toBeInstanceOf(SandboxRefusal);
    expect(error['message']).toBe(
      'the sandbox cannot enforce `permissions.net` (an allow-list): this sandbox has no egress proxy',
    );
  });

  test('a proxy that cannot listen is spawn_failed with the reason, and nothing is left', async () => {
    const root = mkdtempSync(join(tmpdir(), 'egress-long-'));
    roots.push(root);
    const deep = join(root, 'd'.repeat(90));
    mkdirSync(deep);
    const sandbox = createSandbox({
      tmpRoot: deep,
      egress: createEgressProxy(normalizeNetworkOptions({})),
    });
    // The runtime turns the refusal into the call's `spawn_failed` ("Tool `x` could not be
    // started: " + this message).
    const error = await rejectionOf(sandbox.prepare(request()));
    expect(error).toBeInstanceOf(SandboxRefusal);
    expect(error['message']).toMatch(
      /^the sandbox cannot enforce `permissions\.net` \(an allow-list\): its egress proxy could not start: the proxy's socket path .* is longer than 107 bytes \(set TMPDIR to a shorter directory\)$/,
    );
    expect(existsSync(deep)).toBe(true);
    expect(readdirSync(deep)).toEqual([]);
  });

  test('a plan with an allow-list starts the forwarder and reports the list; dispose closes the session', async () => {
    const root = mkdtempSync(join(tmpdir(), 'egress-plan-'));
    roots.push(root);
    const sandbox = createSandbox({
      tmpRoot: root,
      egress: createEgressProxy(normalizeNetworkOptions({})),
    });
    const plan = await sandbox.prepare(request());
    try {
      expect(plan.args).toContain(EGRESS_ARG);
      expect(plan.enforcement).toMatchObject({
        network: 'allow-list',
        networkAllowList: ['allowed.test'],
      });
      // Nothing yet, the same through both readers.
      const none = {
        allowed: 0,
        denied: 0,
        deniedByPolicy: 0,
        denials: [],
        lastDenial: undefined,
        limit: undefined,
      };
      expect(plan.networkActivity?.()).toEqual(none);
      expect((await plan.inspect()).network).toEqual(none);
    } finally {
      await plan.dispose();
    }
    await sandbox.settled();
    expect(readdirSync(root)).toEqual([]);
  });

  test("unsandboxed (`sandbox: 'none'`), an allow-list runs on the host network without a proxy", async () => {
    const root = mkdtempSync(join(tmpdir(), 'egress-none-'));
    roots.push(root);
    const plan = await createSandbox({ tmpRoot: root }).prepare(request('ok-sync.ts', 'none'));
    try {
      expect(plan.enforcement.network).toBe('host');
      expect(plan.enforcement.networkAllowList).toBeUndefined();
      expect(plan.networkActivity).toBeUndefined();
    } finally {
      await plan.dispose();
    }
  });
});
