import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import {
  buildBwrapArgs,
  bwrapNamespaces,
  withHold,
  type BwrapInput,
} from '../../src/sandbox/bwrap-args.js';
import { rlimitsOf } from '../../src/sandbox/confinement.js';
import {
  LAUNCH_FAILURE_EXIT,
  LAUNCH_FAILURE_PREFIX,
  prologue,
  quote,
} from '../../src/sandbox/prologue.js';
import { resolvePermissions } from '../../src/sandbox/permissions.js';
import type { Permissions } from '../../src/sandbox/types.js';

const system = {
  libraries: ['/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/libc.so.6'],
  runRoot: [
    { kind: 'dir', path: '/usr' },
    { kind: 'symlink', path: '/bin', target: 'usr/bin' },
  ],
  runEtc: ['/etc/passwd'],
  netEtc: ['/etc/resolv.conf'],
} as const;

function input(permissions: Permissions = {}, extra: Partial<BwrapInput> = {}): BwrapInput {
  return {
    bunPath: '/opt/bun/bun',
    bunArgs: ['--no-install', '/rt/worker.ts'],
    tool: { kind: 'directory', dir: '/tools' },
    runtimeFiles: ['/rt/worker.ts'],
    permissions: resolvePermissions(permissions),
    env: { API: 'x' },
    tmpBytes: 64 * 1024 * 1024,
    system,
    userNamespace: true,
    hostRoot: false,
    seccompFd: 4,
    ...extra,
  };
}

// Every "op src dest" triple of a command line, as strings.
function mounts(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const op = args[i]!;
    if (/^--(ro-|dev-)?bind(-try)?$/.test(op) || op === '--symlink')
      out.push(`${op} ${args[i + 1]} ${args[i + 2]}`);
    if (op === '--proc') out.push(`${op} ${args[i + 1]}`);
    if (op === '--tmpfs') {
      const size = args[i - 2] === '--size' ? `--size ${args[i - 1]} ` : '';
      out.push(`${size}--tmpfs ${args[i + 1]}`);
    }
  }
  return out;
}

// The paths remounted read-only, in order.
function remounts(args: readonly string[]): string[] {
  return args.flatMap((arg, at) => (arg === '--remount-ro' ? [args[at + 1]!] : []));
}

describe('withHold', () => {
  test("adds the launcher's descriptors just before the command, the rest unchanged", () => {
    const plain = buildBwrapArgs(input({}, { env: { FLAG: '--' } }));
    const held = withHold(plain, input(), { infoFd: 5, blockFd: 6 });
    const command = ['--', '/opt/bun/bun', '--no-install', '/rt/worker.ts'];
    expect(held.slice(-command.length)).toEqual(command);
    expect(held.slice(-command.length - 4, -command.length)).toEqual([
      '--info-fd',
      '5',
      '--block-fd',
      '6',
    ]);
    expect(held.slice(0, -command.length - 4)).toEqual(plain.slice(0, -command.length));
  });
});

describe('buildBwrapArgs', () => {
  test('default: every namespace, nothing of the system but Bun and its libraries', () => {
    const args = buildBwrapArgs(input());
    for (const flag of [
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-net',
      '--unshare-user',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
      '--clearenv',
    ])
      expect(args).toContain(flag);
    expect(args.join(' ')).toContain('--cap-drop ALL');
    expect(args.join(' ')).toContain('--uid 65534 --gid 65534');
    const m = mounts(args);
    expect(m).toContain('--ro-bind /opt/bun/bun /opt/bun/bun');
    expect(m).toContain(
      '--ro-bind /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libc.so.6',
    );
    expect(m).toContain('--ro-bind /tools /tools');
    expect(m).toContain(`--size ${64 * 1024 * 1024} --tmpfs /tmp`);
    expect(m.join('\n')).not.toMatch(/--bind \S+ \/tmp$/m);
    expect(m).toContain('--proc /proc');
    expect(m.join('\n')).not.toMatch(/ \/(usr|bin|etc)\b/);
    expect(args.slice(-4)).toEqual(['--', '/opt/bun/bun', '--no-install', '/rt/worker.ts']);
    expect(args.join(' ')).toContain('--seccomp 4');
  });

  test('environment: cleared, then the tool’s variables and toolcage’s', () => {
    const args = buildBwrapArgs(input()).join(' ');
    expect(args).toContain('--clearenv --setenv API x --setenv TMPDIR /tmp --setenv HOME /tmp');
    expect(args).not.toContain('PATH');
    expect(buildBwrapArgs(input({ run: true })).join(' ')).toContain(
      '--setenv PATH /usr/local/sbin',
    );
  });

  test.each([
    ['net', { net: true }, ['--ro-bind-try /etc/resolv.conf /etc/resolv.conf'], ['--unshare-net']],
    [
      'run',
      { run: true },
      ['--ro-bind /usr /usr', '--symlink usr/bin /bin', '--ro-bind-try /etc/passwd /etc/passwd'],
      ['/lib/x86_64-linux-gnu/libc.so.6'],
    ],
    ['read', { read: ['/data'] }, ['--ro-bind-try /data /data'], []],
    ['write', { write: ['/out'] }, ['--bind-try /out /out'], []],
  ] as const)('%s grant', (_name, permissions, present, absent) => {
    const args = buildBwrapArgs(input(permissions));
    for (const mount of present) expect(mounts(args)).toContain(mount);
    for (const text of absent) expect(args.join(' ')).not.toContain(text);
  });

  test('/proc covers: every one for a host-root sandbox, those a plain user could reach for any other', () => {
    const proc = {
      all: {
        readOnly: ['/proc/sys', '/proc/irq'],
        masked: [
          { path: '/proc/kallsyms', type: 'file' },
          { path: '/proc/kcore', type: 'file' },
          { path: '/proc/acpi', type: 'directory' },
        ],
      },
      anyUser: {
        readOnly: ['/proc/sys'],
        masked: [{ path: '/proc/kallsyms', type: 'file' }],
      },
    } as const;
    const covers = (hostRoot: boolean): string[] => {
      const args = buildBwrapArgs(input({}, { system: { ...system, proc }, hostRoot }));
      const list = mounts(args).filter((mount) => /^--ro-bind.* \/proc\/\S+$/.test(mount));
      const at = args.indexOf('/proc/acpi');
      return at > 0 ? [...list, args.slice(at - 3, at + 3).join(' ')] : list;
    };
    expect(covers(true)).toEqual([
      '--ro-bind-try /proc/sys /proc/sys',
      '--ro-bind-try /proc/irq /proc/irq',
      '--ro-bind /dev/null /proc/kallsyms',
      '--ro-bind /dev/null /proc/kcore',
      '--perms 0000 --tmpfs /proc/acpi --remount-ro /proc/acpi',
    ]);
    expect(covers(false)).toEqual([
      '--ro-bind-try /proc/sys /proc/sys',
      '--ro-bind /dev/null /proc/kallsyms',
    ]);
  });

  test('parents are mounted before children: a granted / does not cover /proc, /tmp or /dev', () => {
    const m = mounts(buildBwrapArgs(input({ read: ['/'], write: ['/tmp/out'] })));
    expect(m[0]).toBe('--ro-bind-try / /');
    expect(m.indexOf(`--size ${64 * 1024 * 1024} --tmpfs /tmp`)).toBeLessThan(
      m.indexOf('--bind-try /tmp/out /tmp/out'),
    );
    expect(m.indexOf('--ro-bind-try / /')).toBeLessThan(m.indexOf('--proc /proc'));
  });

  test('/dev: five devices, the descriptor links and /dev/shm into /tmp, on a tmpfs made read-only; no tty, devpts or ptmx', () => {
    const args = buildBwrapArgs(input());
    const m = mounts(args);
    expect(m.filter((entry) => /^\/dev\b/.test(entry.split(' ').at(-1) ?? ''))).toEqual([
      '--tmpfs /dev',
      '--dev-bind /dev/null /dev/null',
      '--dev-bind /dev/zero /dev/zero',
      '--dev-bind /dev/full /dev/full',
      '--dev-bind /dev/random /dev/random',
      '--dev-bind /dev/urandom /dev/urandom',
      '--symlink /proc/self/fd /dev/fd',
      '--symlink /proc/self/fd/0 /dev/stdin',
      '--symlink /proc/self/fd/1 /dev/stdout',
      '--symlink /proc/self/fd/2 /dev/stderr',
      '--symlink /tmp /dev/shm',
    ]);
    expect(args).not.toContain('--dev');
    expect(args.join(' ')).not.toMatch(/\/dev\/(tty|pts|ptmx|console)\b/);
    // Read-only once everything in it is made, before the root.
    expect(remounts(args).slice(-2)).toEqual(['/dev', '/']);
    expect(args.lastIndexOf('--symlink')).toBeLessThan(args.indexOf('--remount-ro'));
  });

  test('/dev under grants: a granted / or /dev is covered by it, a grant under it shows the host’s entry instead', () => {
    for (const grant of ['/', '/dev']) {
      const m = mounts(buildBwrapArgs(input({ read: [grant] })));
      expect(m.indexOf(`--ro-bind-try ${grant} ${grant}`)).toBeLessThan(m.indexOf('--tmpfs /dev'));
      expect(m).toContain('--dev-bind /dev/null /dev/null');
      expect(m).toContain('--symlink /tmp /dev/shm');
    }
    const m = mounts(buildBwrapArgs(input({ write: ['/dev/shm'], read: ['/dev/zero'] })));
    expect(m).toContain('--bind-try /dev/shm /dev/shm');
    expect(m).toContain('--ro-bind-try /dev/zero /dev/zero');
    expect(m).not.toContain('--symlink /tmp /dev/shm');
    expect(m).not.toContain('--dev-bind /dev/zero /dev/zero');
    expect(m).toContain('--dev-bind /dev/null /dev/null');
    expect(m.indexOf('--tmpfs /dev')).toBeLessThan(m.indexOf('--bind-try /dev/shm /dev/shm'));
  });

  test('a bundle is the only file of the tool: its source at the tool’s path, its bytecode and source map beside it', () => {
    const args = buildBwrapArgs(
      input(
        {},
        {
          tool: {
            kind: 'bundle',
            file: '/proj/tools/validate.ts',
            source: '/cache/v1/bundles/ab.js',
            bytecode: '/cache/v1/bundles/ab.js.jsc',
            sourcemap: '/cache/v1/bundles/ab.js.map',
          },
        },
      ),
    );
    const m = mounts(args);
    expect(m).toContain('--ro-bind /cache/v1/bundles/ab.js /proj/tools/validate.ts');
    expect(m).toContain('--ro-bind /cache/v1/bundles/ab.js.jsc /proj/tools/validate.ts.jsc');
    expect(m).toContain('--ro-bind-try /cache/v1/bundles/ab.js.map /proj/tools/validate.ts.map');
    expect(m.join('\n')).not.toMatch(/ \/proj\/tools( |$)/m);
  });

  test('a bundle whose directory lies in the private /tmp: that directory is an empty tmpfs, read-only once the bundle is in it', () => {
    const bundle = (permissions: Permissions): string[] =>
      buildBwrapArgs(
        input(permissions, {
          tool: {
            kind: 'bundle',
            file: '/tmp/proj/tools/t.ts',
            source: '/c/b.js',
          },
        }),
      );
    const args = bundle({});
    const mountedAt = (dest: string): number =>
      args.findIndex((arg, at) => arg === dest && args[at - 1] === '--tmpfs');
    const scratch = mountedAt('/tmp');
    const tmpfs = mountedAt('/tmp/proj/tools');
    const bound = args.indexOf('/tmp/proj/tools/t.ts');
    const readOnly = args.lastIndexOf('/tmp/proj/tools');
    expect(args[readOnly - 1]).toBe('--remount-ro');
    // The private /tmp first, then the directory's tmpfs, the bundle into it, then read-only.
    expect(scratch).toBeGreaterThan(0);
    expect(scratch).toBeLessThan(tmpfs);
    expect(tmpfs).toBeLessThan(bound);
    expect(bound).toBeLessThan(readOnly);
    expect(remounts(args)).toEqual(['/tmp/proj/tools', '/dev', '/']);
    for (const grant of ['/tmp/proj', '/tmp/proj/tools'])
      expect(remounts(bundle({ read: [grant] }))).toEqual(['/dev', '/']);
    // Outside /tmp, bwrap's parents sit on the read-only root already.
    expect(remounts(buildBwrapArgs(input()))).toEqual(['/dev', '/']);
  });

  test('the directories shown, then their masks over them (files by /dev/null, directories by a read-only tmpfs of mode 0000)', () => {
    const args = buildBwrapArgs(
      input(
        { read: ['/proj/tools/data'] },
        {
          tool: { kind: 'directory', dir: '/proj/tools' },
          masked: [
            { path: '/proj/tools/.env', type: 'file' },
            { path: '/proj/tools/.git', type: 'directory' },
            { path: '/proj/tools/data/.ssh', type: 'directory' },
          ],
        },
      ),
    );
    const at = (...sequence: string[]): number => {
      const index = args.findIndex((_, i) => sequence.every((arg, j) => args[i + j] === arg));
      expect(index, sequence.join(' ')).toBeGreaterThanOrEqual(0);
      return index;
    };
    const dir = at('--ro-bind', '/proj/tools', '/proj/tools');
    expect(at('--ro-bind', '/dev/null', '/proj/tools/.env')).toBeGreaterThan(dir);
    expect(
      at('--perms', '0000', '--tmpfs', '/proj/tools/.git', '--remount-ro', '/proj/tools/.git'),
    ).toBeGreaterThan(dir);
    // A mask inside a granted directory comes after the grant's bind.
    expect(at('--perms', '0000', '--tmpfs', '/proj/tools/data/.ssh')).toBeGreaterThan(
      at('--ro-bind-try', '/proj/tools/data', '/proj/tools/data'),
    );
  });

  test('a path granted for read and write is bound read-write only', () => {
    const m = mounts(buildBwrapArgs(input({ read: ['/x'], write: ['/x'] })));
    expect(m).toContain('--bind-try /x /x');
    expect(m).not.toContain('--ro-bind-try /x /x');
  });

  test('without a user namespace or seccomp', () => {
    const args = buildBwrapArgs(input({}, { userNamespace: false, seccompFd: undefined })).join(
      ' ',
    );
    expect(args).not.toContain('--unshare-user');
    expect(args).not.toContain('--seccomp');
  });

  test('bwrapNamespaces', () => {
    expect(bwrapNamespaces({ permissions: resolvePermissions(), userNamespace: true })).toEqual([
      'mount',
      'pid',
      'ipc',
      'uts',
      'net',
      'user',
    ]);
    expect(
      bwrapNamespaces({ permissions: resolvePermissions({ net: true }), userNamespace: false }),
    ).toEqual(['mount', 'pid', 'ipc', 'uts']);
  });
});

describe('the fallback prologue', () => {
  const tools = { shell: '/bin/sh', setpriv: '/usr/bin/setpriv' };
  const command = { file: '/usr/bin/bwrap', args: ['--x', "it's"] };

  test('nothing to apply: the command itself, no shell', () => {
    expect(prologue(tools, { rlimits: [] }, command)).toEqual(command);
  });

  test('cgroups and rlimits: a sh prologue that execs the command with its arguments untouched', () => {
    const confinement = {
      joins: [
        { controller: 'memory', hierarchy: '/cg/memory', file: '/cg/memory/a/tasks' },
        { controller: 'pids', hierarchy: '/cg/pids', file: '/cg/pids/a/tasks' },
      ] as const,
      rlimits: rlimitsOf({ cpuSeconds: 2, fileSizeBytes: 10 * 1024 * 1024 }),
    };
    const { file, args } = prologue(tools, confinement, command) as {
      file: string;
      args: string[];
    };
    expect(file).toBe('/bin/sh');
    expect(args[0]).toBe('-c');
    expect(args.slice(2)).toEqual(['/usr/bin/bwrap', '--x', "it's"]);
    const script = args[1]!;
    expect(script).toContain("echo 0 > '/cg/memory/a/tasks' || fail");
    expect(script).toContain("echo 0 > '/cg/pids/a/tasks' || fail");
    expect(script).toContain('ulimit -S -t 2 && ulimit -H -t 3');
    expect(script).toContain('ulimit -f 20480');
    expect(script.trim().endsWith('exec "$0" "$@"')).toBe(true);
  });

  test('a switch of user: joins and limits as root first, then setpriv drops the groups and execs', () => {
    const confinement = {
      cgroup: '/cg/unified/a',
      rlimits: rlimitsOf({ cpuSeconds: undefined, fileSizeBytes: undefined, openFiles: 64 }),
      user: { uid: 65534, gid: 65534 },
    };
    const { args } = prologue(tools, confinement, command) as { args: readonly string[] };
    const lines = args[1]!.split('\n');
    expect(lines[1]).toBe(
      "echo 0 > '/cg/unified/a/cgroup.procs' || fail 'join the cgroup /cg/unified/a/cgroup.procs'",
    );
    expect(lines[2]).toBe("ulimit -n 64 || fail 'set RLIMIT_NOFILE'");
    expect(lines.at(-1)).toBe(
      'exec \'/usr/bin/setpriv\' --reuid=65534 --regid=65534 --clear-groups -- "$0" "$@"',
    );
  });

  test('what only the launcher can do is named, never started without it', () => {
    const nproc = {
      rlimits: rlimitsOf({ cpuSeconds: undefined, fileSizeBytes: undefined, processes: 8 }),
    };
    expect(prologue(tools, nproc, command)).toEqual({
      unavailable: 'its process limit is an RLIMIT_NPROC that only the toolcage launcher can set',
    });
    const user = { rlimits: [], user: { uid: 1, gid: 1 } };
    expect(prologue({ ...tools, setpriv: undefined }, user, command)).toHaveProperty(
      'unavailable',
      expect.stringContaining('setpriv'),
    );
    const limited = { rlimits: rlimitsOf({ cpuSeconds: 1, fileSizeBytes: undefined }) };
    expect(prologue({ shell: undefined, setpriv: undefined }, limited, command)).toEqual({
      unavailable: 'its limits need the toolcage launcher or /bin/sh',
    });
  });

  test('it runs: a limit it cannot apply ends it with its own exit status and a named reason', () => {
    const ok = prologue(
      tools,
      { rlimits: rlimitsOf({ cpuSeconds: 5, fileSizeBytes: 4096 }) },
      {
        file: '/bin/sh',
        args: ['-c', 'ulimit -t; ulimit -f'],
      },
    ) as { file: string; args: string[] };
    expect(execFileSync(ok.file, ok.args).toString()).toBe('5\n8\n');
    const joins = [
      { controller: 'pids', hierarchy: '/nonexistent', file: '/nonexistent/a/tasks' },
    ] as const;
    const refused = prologue(tools, { joins, rlimits: [] }, { file: '/bin/true', args: [] }) as {
      file: string;
      args: string[];
    };
    const run = spawnSync(refused.file, refused.args);
    expect(run.status).toBe(LAUNCH_FAILURE_EXIT);
    expect(run.stderr.toString()).toContain(
      `${LAUNCH_FAILURE_PREFIX}cannot join the cgroup /nonexistent/a/tasks`,
    );
  });

  test('quote', () => {
    expect(quote("a'b")).toBe(`'a'\\''b'`);
  });
});
