/**
 * Joining a cgroup v2 from the prologue against starting inside it (LaunchPlan.byLauncher): the same
 * `sh -c 'exec /bin/true'`, started by toolcage's launcher, (a) in no cgroup, (b) writing `0` to
 * its cgroup's `cgroup.procs` first, as the prologue does where the process is spawned by Node,
 * (c) started inside its cgroup by the launcher (Bun.spawn's `cgroup`: CLONE_INTO_CGROUP). The
 * calls come 30 ms apart, as calls to a service do: after ~20 ms without a migration, a join
 * waits for an RCU grace period. Any writable cgroup2 mount will do (no controller is needed to
 * be a member); on a machine without one the figure is not measured.
 */
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Launcher as LauncherClass } from '../../src/runtime/launcher-client.js';
import { shellPlan } from '../../test/helpers/shell-plan.js';
import { BUN, ms, type Row } from '../setup.js';
import { median } from '../stats.js';
import { DIST_LAUNCHER, Launcher, spawnPlan } from '../toolcage.js';

const ROUNDS = 40;
const PACE_MS = 30;
const FIGURE = 'cgroup v2: started inside its cgroup (launcher) vs joining it (prologue)';

export async function cgroupRows(): Promise<Row[]> {
  const root = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[2] === 'cgroup2')?.[1];
  let probe: string;
  try {
    if (root === undefined) throw new Error('no cgroup2 filesystem is mounted');
    probe = mkdtempSync(join(root, 'toolcage-bench-'));
    rmdirSync(probe);
  } catch (error) {
    return [notMeasured(error instanceof Error ? error.message : String(error))];
  }
  const launcher = new Launcher(BUN, DIST_LAUNCHER);
  try {
    if (!(await launcher.whenReady())) throw new Error('bench: the launcher does not start');
    const samples = { none: [] as number[], join: [] as number[], inside: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of ['none', 'join', 'inside'] as const) {
        samples[kind].push(await timedStart(launcher, root, kind));
        await new Promise((resolve) => setTimeout(resolve, PACE_MS));
      }
    }
    const [none, joined, inside] = [
      median(samples.none),
      median(samples.join),
      median(samples.inside),
    ];
    return [
      {
        figure: FIGURE,
        measured: ms(inside),
        baseline: `${ms(joined)} (no cgroup: ${ms(none)})`,
        value: `${(inside / joined).toFixed(3)}×`,
        target: '(report)',
        pass: undefined,
      },
    ];
  } finally {
    await launcher.close();
  }
}

// One start of `sh -c 'exec /bin/true'` in a fresh cgroup, until it has exited.
async function timedStart(
  launcher: LauncherClass,
  root: string,
  kind: 'none' | 'join' | 'inside',
): Promise<number> {
  const dir = mkdtempSync(join(root, 'toolcage-bench-'));
  try {
    const script =
      kind === 'join'
        ? `echo 0 > '${join(dir, 'cgroup.procs')}' && exec /bin/true`
        : 'exec /bin/true';
    const plan = shellPlan(script, {
      ...(kind === 'inside' ? { confinement: { cgroup: dir, rlimits: [] } } : {}),
    });
    const started = performance.now();
    const child = await spawnPlan(plan, launcher);
    child.stdout.resume();
    child.stderr.resume();
    child.result.resume();
    const end = await child.exited;
    await child.closed;
    const took = performance.now() - started;
    if (end.code !== 0) throw new Error(`bench: the ${kind} start failed (${JSON.stringify(end)})`);
    return took;
  } finally {
    rmdirSync(dir);
  }
}

function notMeasured(why: string): Row {
  return {
    figure: FIGURE,
    measured: `not measured: ${why}`,
    baseline: '–',
    value: '–',
    target: '(report)',
    pass: undefined,
  };
}
