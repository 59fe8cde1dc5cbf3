/**
 * A virtualised table: one scroll container of rows x ROW_HEIGHT pixels, and only the rows in
 * view as DOM nodes, reused on scroll. 60,000 rows cost 60,000 array entries and ~20 DOM rows,
 * so scrolling is a few text updates per frame. The rows live in a sticky box
 * the size of the viewport (placed at `index x ROW_HEIGHT - scrollTop`), and what scrolls is an
 * empty spacer. With the rows inside the 1.4M-pixel scrolled layer, the one frame over 34 ms in
 * test/dashboard.test.ts (50.1 ms) was the one after a jump far away, where Chromium has new
 * tiles to rasterise; in the sticky box a frame repaints one viewport whatever the distance.
 */
import { h } from './dom.js';

export const ROW_HEIGHT = 24;

export interface Column<T> {
  readonly key: string;
  readonly label: string;
  readonly width: number;
  readonly value: (row: T) => string | number;
  readonly align?: 'right';
}

export class VirtualTable<T> {
  readonly el: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly header: HTMLElement;
  private rows: readonly T[] = [];
  private pool: HTMLElement[] = [];
  private sortKey: string | null = null;
  private sortDir: 1 | -1 = 1;
  private sorted: T[] = [];
  private frame = 0;
  /** When the user last scrolled: a refresh waits until they stop (rows do not move under the pointer, and a 60k-row reload does not land mid-scroll). */
  lastScrollMs = -Infinity;

  constructor(private readonly columns: readonly Column<T>[], private readonly onPick: (row: T) => void, private readonly onSort?: () => void) {
    const template = columns.map((c) => `${c.width}px`).join(' ');
    this.header = h('div', { class: 'vt-header', role: 'row' });
    this.header.style.gridTemplateColumns = template;
    for (const c of columns) {
      const cell = h('button', { class: `vt-cell vt-sort${c.align === 'right' ? ' right' : ''}`, 'data-key': c.key, onclick: () => this.sortBy(c.key) }, c.label);
      this.header.append(cell);
    }
    this.spacer = h('div', { class: 'vt-spacer' });
    this.body = h('div', { class: 'vt-body', role: 'rowgroup', translate: 'no' });
    this.viewport = h('div', { class: 'vt-viewport', tabindex: 0, 'data-testid': 'vt-viewport' }, this.body, this.spacer);
    this.viewport.addEventListener('scroll', () => {
      this.lastScrollMs = performance.now();
      this.schedule();
    }, { passive: true });
    this.viewport.addEventListener('keydown', (e) => {
      const step = e.key === 'PageDown' ? 20 : e.key === 'PageUp' ? -20 : e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : 0;
      if (step !== 0) {
        this.viewport.scrollTop += step * ROW_HEIGHT;
        e.preventDefault();
      }
    });
    this.el = h('div', { class: 'vt', role: 'table' }, this.header, this.viewport);
    this.body.style.gridTemplateColumns = template;
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
  }

  setRows(rows: readonly T[]): void {
    this.rows = rows;
    this.applySort();
    this.render();
  }

  get size(): number {
    return this.sorted.length;
  }

  private sortBy(key: string): void {
    if (this.sortKey === key) this.sortDir = this.sortDir === 1 ? -1 : 1;
    else {
      this.sortKey = key;
      this.sortDir = 1;
    }
    for (const b of this.header.children) (b as HTMLElement).dataset.sort = (b as HTMLElement).dataset.key === key ? (this.sortDir === 1 ? 'asc' : 'desc') : '';
    this.applySort();
    this.render();
    this.onSort?.();
  }

  private applySort(): void {
    const col = this.columns.find((c) => c.key === this.sortKey);
    if (col === undefined) {
      this.sorted = [...this.rows];
      return;
    }
    const keyed = this.rows.map((r) => ({ r, v: col.value(r) }));
    const dir = this.sortDir;
    keyed.sort((a, b) => (typeof a.v === 'number' && typeof b.v === 'number' ? (a.v - b.v) * dir : String(a.v).localeCompare(String(b.v), undefined, { numeric: true }) * dir));
    this.sorted = keyed.map((k) => k.r);
  }

  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const profile = (window as { __tcpdiagProfile?: boolean }).__tcpdiagProfile === true;
    const begin = profile ? performance.now() : 0;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 600;
    this.body.style.height = `${height}px`;
    this.spacer.style.height = `${Math.max(0, this.sorted.length * ROW_HEIGHT - height)}px`;
    // Only the rows that meet the viewport: the sticky box clips anything past it, and while a
    // frame is late the compositor keeps showing the box's last rows rather than a blank, so
    // rows rendered ahead (an overscan) would be work no one sees.
    const first = Math.floor(top / ROW_HEIGHT);
    const last = Math.min(this.sorted.length, Math.ceil((top + height) / ROW_HEIGHT));
    const needed = last - first;
    while (this.pool.length < needed) {
      const row = h('div', { class: 'vt-row', role: 'row', tabindex: -1 });
      row.style.gridTemplateColumns = this.body.style.gridTemplateColumns;
      for (const c of this.columns) row.append(h('div', { class: `vt-cell${c.align === 'right' ? ' right' : ''}` }));
      row.addEventListener('click', () => {
        const i = Number(row.dataset.index);
        const r = this.sorted[i];
        if (r !== undefined) this.onPick(r);
      });
      this.body.append(row);
      this.pool.push(row);
    }
    for (let i = 0; i < this.pool.length; i++) {
      const row = this.pool[i]!;
      const index = first + i;
      if (i >= needed) {
        row.style.display = 'none';
        continue;
      }
      row.style.display = '';
      row.style.transform = `translateY(${index * ROW_HEIGHT - top}px)`;
      row.dataset.index = String(index);
      const data = this.sorted[index]!;
      const cells = row.children;
      for (let c = 0; c < this.columns.length; c++) {
        const text = String(this.columns[c]!.value(data));
        const cell = cells[c] as HTMLElement;
        if (cell.textContent !== text) cell.textContent = text;
      }
    }
    // The end-to-end test sets __tcpdiagProfile to tell this script's share of a frame from the browser's.
    if (profile) performance.measure('vt-render', { start: begin, end: performance.now() });
  }
}
