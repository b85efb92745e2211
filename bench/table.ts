import type { Row } from './setup.js';

const HEADERS = ['figure', 'toolcage', 'baseline', 'ratio / excess', 'target', 'result'] as const;

function cells(row: Row): string[] {
  const result = row.pass === undefined ? '–' : row.pass ? 'PASS' : 'MISS';
  return [row.figure, row.measured, row.baseline, row.value, row.target, result];
}

/** The table as aligned text, for the terminal. */
export function textTable(rows: readonly Row[]): string {
  const lines = [[...HEADERS], ...rows.map(cells)];
  const widths = HEADERS.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  return lines
    .map((line) =>
      line
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table as Markdown, for RESULTS.md. */
export function markdownTable(rows: readonly Row[]): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  return [
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${cells(row).map(escape).join(' | ')} |`),
  ].join('\n');
}
