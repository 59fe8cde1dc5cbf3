/**
 * Plain-text tables for the terminal: columns sized to content, numbers right-aligned.
 * Pure: returns a string; the CLI writes it.
 */

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string | number | null | undefined;
  readonly align?: 'left' | 'right';
  /** Longest a cell may be; longer text is cut with an ellipsis. */
  readonly maxWidth?: number;
}

export interface TableOptions {
  /** Print the header line (default true; ss -H leaves it out). */
  readonly header?: boolean;
}

export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], options: TableOptions = {}): string {
  const cells = rows.map((row) =>
    columns.map((column) => {
      const value = column.value(row);
      const text = value === null || value === undefined ? '-' : String(value);
      const max = column.maxWidth;
      return max !== undefined && text.length > max ? `${text.slice(0, max - 1)}…` : text;
    }),
  );
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const alignOf = (i: number): 'left' | 'right' => columns[i]?.align ?? 'left';
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (alignOf(i) === 'right' ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const body = cells.map(line);
  if (options.header === false) return body.length === 0 ? '' : body.join('\n') + '\n';
  return [line(columns.map((c) => c.header)), ...body].join('\n') + '\n';
}

/** 1536 -> "1.5K", 3_200_000 -> "3.2M" (binary for bytes when `binary`). */
export function humanNumber(n: number, binary = false): string {
  const base = binary ? 1024 : 1000;
  const units = ['', 'K', 'M', 'G', 'T'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= base && unit < units.length - 1) {
    value /= base;
    unit++;
  }
  return unit === 0 ? String(Math.round(value * 100) / 100) : `${value.toFixed(value < 10 ? 1 : 0)}${units[unit]}`;
}
