/**
 * `toolcage doctor` as text: the rows of src/sandbox/doctor-rows.ts in a table that fits the terminal
 * (detail and fix wrap, never cut: a fix must be readable whole), and a verdict line.
 */
import type { Component, SandboxCapabilities } from '../sandbox/detect.js';
import { doctorRows, readMounts, type DoctorIdentity } from '../sandbox/doctor-rows.js';
import { formatTable, type Column } from './table.js';

const COLUMNS: readonly Column[] = [
  { header: 'component' },
  { header: 'status' },
  { header: 'detail', shrink: 'wrap' },
  { header: 'how to fix', shrink: 'wrap' },
];

/**
 * The report as a table `width` columns wide at most, with a verdict line at the end; `egress`
 * is the egress probe's result, when it ran (see doctorRows).
 */
export function renderDoctor(
  caps: SandboxCapabilities,
  options: {
    readonly mounts?: string;
    readonly width?: number;
    readonly egress?: Component;
    readonly who?: DoctorIdentity;
  } = {},
): string {
  const rows = doctorRows(caps, options.mounts ?? readMounts(), options.egress, options.who);
  const missing = rows.filter((row) => row.status === 'missing').map((row) => row.component);
  const byRlimits = !caps.cgroup.memory || !caps.cgroup.pids;
  const verdict =
    missing.length > 0
      ? `Sandboxed execution is refused (spawn_failed) until fixed: ${missing.join(', ')}. \`sandbox: 'none'\` still runs, unsandboxed.`
      : byRlimits
        ? 'Sandboxed execution (sandbox: auto/bwrap) runs here with full isolation; memory and processes are bounded by rlimits, not cgroups (see the warnings; requireCgroups: true refuses instead).'
        : 'Sandboxed execution (sandbox: auto/bwrap) is fully enforced on this machine.';
  const table = formatTable(
    COLUMNS,
    rows.map((row) => [row.component, row.status, row.detail, row.fix]),
    options.width === undefined ? {} : { width: options.width },
  );
  return `${table}\n\n${verdict}`;
}
