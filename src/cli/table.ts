/**
 * The one text table of toolcage's human output (the demo, `toolcage doctor`, the bench): aligned
 * columns that fit a given width. Columns that may shrink give way, widest first, those that wrap
 * before those that cut (wrapping loses nothing); what no longer fits in such a cell is cut
 * (`…`) or wrapped onto more lines, as its column says.
 */

/** A column of {@link formatTable}. */
export interface Column {
  readonly header: string;
  /**
   * Whether the column gives way when the table is too wide, and how its cells then fit: `cut`
   * ends them with `…`, `wrap` breaks them at spaces onto more lines. @default undefined (never shrinks)
   */
  readonly shrink?: 'cut' | 'wrap';
  /** The narrowest a shrinking column gets. @default its header's width, and 8 at least */
  readonly minWidth?: number;
}

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** Columns the table may take. @default Infinity */
  readonly width?: number;
}

const GAP = '  ';
// A shrinking column never gets narrower than this (or its header).
const MIN_SHRUNK = 8;

/** `rows` under `columns`, with a rule of dashes under the headers; lines end without spaces. */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const widths = fitWidths(columns, rows, options.width ?? Number.POSITIVE_INFINITY);
  const lines = [
    line(
      columns.map((column) => [column.header]),
      widths,
    ),
    line(
      widths.map((width) => ['-'.repeat(width)]),
      widths,
    ),
  ];
  for (const row of rows) {
    const cells = columns.map((column, index) =>
      fitCell(row[index] ?? '', widths[index]!, column.shrink),
    );
    lines.push(line(cells, widths));
  }
  return lines.join('\n');
}

/** The columns of an interactive terminal, else `COLUMNS`, else `fallback`. */
export function terminalWidth(
  stream: { readonly isTTY?: boolean; readonly columns?: number } = process.stdout,
  env: Readonly<Record<string, string | undefined>> = process.env,
  fallback = 100,
): number {
  if (stream.isTTY === true && stream.columns !== undefined && stream.columns > 0) {
    return stream.columns;
  }
  const columns = Number(env['COLUMNS']);
  return Number.isInteger(columns) && columns > 0 ? columns : fallback;
}

// Each column's natural width (its longest cell), less what the shrinking ones give up to fit.
function fitWidths(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width: number,
): number[] {
  const widths = columns.map((column, index) =>
    Math.max(length(column.header), ...rows.map((row) => length(row[index] ?? ''))),
  );
  const floor = columns.map((column, index) =>
    column.shrink === undefined
      ? widths[index]!
      : Math.min(widths[index]!, column.minWidth ?? Math.max(MIN_SHRUNK, length(column.header))),
  );
  let excess = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1) - width;
  for (const kind of ['wrap', 'cut'] as const) {
    while (excess > 0) {
      // The widest column of this kind that can still give way gives one.
      let widest = -1;
      for (let index = 0; index < widths.length; index++) {
        const can = columns[index]!.shrink === kind && widths[index]! > floor[index]!;
        if (can && (widest === -1 || widths[index]! > widths[widest]!)) widest = index;
      }
      if (widest === -1) break;
      widths[widest]! -= 1;
      excess -= 1;
    }
  }
  // Past this, as narrow as it gets: the table is wider than asked.
  return widths;
}

// A cell's lines within `width`.
function fitCell(text: string, width: number, shrink: Column['shrink']): string[] {
  if (length(text) <= width) return [text];
  if (shrink === 'wrap') return wrap(text, width);
  return [
    `${[...text]
      .slice(0, Math.max(0, width - 1))
      .join('')
      .trimEnd()}…`,
  ];
}

// Breaks at spaces; a word longer than the width is broken inside.
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter((part) => part !== '')) {
    let rest = word;
    while (length(rest) > width) {
      if (current !== '') {
        lines.push(current);
        current = '';
      }
      lines.push([...rest].slice(0, width).join(''));
      rest = [...rest].slice(width).join('');
    }
    if (rest === '') continue;
    if (current === '') current = rest;
    else if (length(current) + 1 + length(rest) <= width) current = `${current} ${rest}`;
    else {
      lines.push(current);
      current = rest;
    }
  }
  if (current !== '' || lines.length === 0) lines.push(current);
  return lines;
}

// One row (as many lines as its tallest cell); the last column is not padded.
function line(cells: readonly string[][], widths: readonly number[]): string {
  const height = Math.max(...cells.map((cell) => cell.length));
  const out: string[] = [];
  for (let at = 0; at < height; at++) {
    out.push(
      cells
        .map((cell, index) =>
          index === cells.length - 1 ? (cell[at] ?? '') : pad(cell[at] ?? '', widths[index]!),
        )
        .join(GAP)
        .trimEnd(),
    );
  }
  return out.join('\n');
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - length(text)));
}

// Characters as a terminal counts them here (code points: `≤`, `×` and `…` are one each).
function length(text: string): number {
  return [...text].length;
}
