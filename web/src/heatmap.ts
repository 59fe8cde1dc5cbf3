/**
 * The peers heat map on a plain canvas: rows are remote prefixes, columns are socket-table
 * reads, the colour is the connection count on a log scale. A canvas of a few hundred cells
 * needs no chart library (ECharts would add ~350 KiB gzipped to the bundle for this one view).
 */
export interface HeatData {
  readonly rows: readonly string[];
  readonly columns: readonly number[];
  /** values[row][column] */
  readonly values: readonly (readonly number[])[];
}

const LABEL_WIDTH = 170;
const CELL_HEIGHT = 18;

export function drawHeatmap(canvas: HTMLCanvasElement, data: HeatData, formatTime: (ms: number) => string): void {
  const width = Math.max(400, canvas.parentElement?.clientWidth ?? 800);
  const height = data.rows.length * CELL_HEIGHT + 24;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d');
  if (g === null) return;
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  const max = Math.max(1, ...data.values.flat());
  const cols = Math.max(1, data.columns.length);
  const cellWidth = Math.min(24, (width - LABEL_WIDTH) / cols);
  g.font = '12px system-ui, sans-serif';
  g.textBaseline = 'middle';
  data.rows.forEach((label, r) => {
    g.fillStyle = '#333';
    g.fillText(label, 4, r * CELL_HEIGHT + CELL_HEIGHT / 2);
    data.values[r]!.forEach((v, c) => {
      const level = v === 0 ? 0 : Math.log1p(v) / Math.log1p(max);
      g.fillStyle = v === 0 ? '#f3f4f6' : `rgba(194, 65, 12, ${0.15 + 0.85 * level})`;
      g.fillRect(LABEL_WIDTH + c * cellWidth, r * CELL_HEIGHT + 1, Math.max(1, cellWidth - 1), CELL_HEIGHT - 2);
    });
  });
  g.fillStyle = '#555';
  const first = data.columns[0];
  const last = data.columns.at(-1);
  if (first !== undefined) g.fillText(formatTime(first), LABEL_WIDTH, height - 10);
  if (last !== undefined && last !== first) {
    const text = formatTime(last);
    g.fillText(text, Math.max(LABEL_WIDTH + 90, LABEL_WIDTH + cols * cellWidth - g.measureText(text).width), height - 10);
  }
}

/** The /24 (IPv4) or /48 (IPv6) a remote address belongs to, as text. */
export function prefixOf(address: string, family: 4 | 6): string {
  if (family === 4 || /^\d+\.\d+\.\d+\.\d+$/.test(address)) {
    const v4 = address.replace(/^::ffff:/i, '');
    const parts = v4.split('.');
    return `${parts.slice(0, 3).join('.')}.0/24`;
  }
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const full = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${full.slice(0, 3).map((p) => p.replace(/^0+(?=.)/, '')).join(':')}::/48`;
}
