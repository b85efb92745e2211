import { fileURLToPath } from 'node:url';
import { compareImports } from '../import-probe.js';
import { ms, type Row } from '../setup.js';

const RUNS = 30;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What `import 'toolcage'` costs a fresh Node process, against the entry plus
 * `toolcage/telemetry` (the SDK and its exporters, which the entry loaded itself before they
 * moved to the subpath): median import time and RSS growth.
 */
export async function importRows(): Promise<Row[]> {
  const { a, b } = await compareImports(
    RUNS,
    { root: ROOT, specifiers: ['toolcage'] },
    { root: ROOT, specifiers: ['toolcage', 'toolcage/telemetry'] },
  );
  const baseline = "+ 'toolcage/telemetry'";
  return [
    {
      figure: "import 'toolcage': time",
      measured: ms(a.ms),
      baseline: `${ms(b.ms)} ${baseline}`,
      value: `${(a.ms / b.ms).toFixed(3)}×`,
      target: '(report)',
      pass: undefined,
    },
    {
      figure: "import 'toolcage': RSS growth",
      measured: `${a.rssMb.toFixed(1)} MB`,
      baseline: `${b.rssMb.toFixed(1)} MB ${baseline}`,
      value: `${(a.rssMb / b.rssMb).toFixed(3)}×`,
      target: '(report)',
      pass: undefined,
    },
  ];
}
