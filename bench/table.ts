import { formatTable, terminalWidth, type Column } from '../src/cli/table.js';
import type { Row } from './setup.js';

const COLUMNS: readonly Column[] = [
  { header: 'figure', shrink: 'wrap', minWidth: 24 },
  { header: 'toolcage' },
  { header: 'baseline', shrink: 'wrap', minWidth: 12 },
  { header: 'ratio / excess' },
  { header: 'target' },
  { header: 'result' },
];

function cells(row: Row): string[] {
  const result = row.pass === undefined ? '–' : row.pass ? 'PASS' : 'MISS';
  return [row.figure, row.measured, row.baseline, row.value, row.target, result];
}

/** The table as aligned text, for the terminal (toolcage's one table printer). */
export function textTable(rows: readonly Row[]): string {
  return formatTable(COLUMNS, rows.map(cells), { width: terminalWidth() });
}

/** The table as Markdown, for RESULTS.md. */
export function markdownTable(rows: readonly Row[]): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  return [
    `| ${COLUMNS.map((column) => column.header).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${cells(row).map(escape).join(' | ')} |`),
  ].join('\n');
}
