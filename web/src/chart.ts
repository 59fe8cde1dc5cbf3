/**
 * Time-series charts on uPlot (40 KiB, canvas, draws 100k points in a few ms): every chart of a
 * page shares one cursor and one drag-to-zoom (`sync` key), so a brush on one zooms them all.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { dateTime, num, t, time } from './i18n.js';

const day = (ms: number): string => new Intl.DateTimeFormat(document.documentElement.lang, { month: 'short', day: 'numeric' }).format(ms);

export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
}

const SYNC_KEY = 'tcpdiag';

export class Chart {
  private readonly plot: uPlot;
  private zoomed = false;

  constructor(parent: HTMLElement, title: string, series: readonly SeriesSpec[], private readonly onZoom?: (min: number, max: number) => void) {
    const sync = uPlot.sync(SYNC_KEY);
    const width = Math.max(300, parent.clientWidth || 560);
    const opts: uPlot.Options = {
      title,
      width,
      height: 200,
      tzDate: (ts) => new Date(ts * 1000),
      cursor: { sync: { key: sync.key, setSeries: true }, drag: { x: true, y: false } },
      scales: { x: { time: true } },
      series: [{ label: t('common.time'), value: (_u, v) => (v === null ? '—' : dateTime(v * 1000)) }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, points: { show: false } }))],
      // Times and numbers per locale (Intl), not uPlot's English formats.
      axes: [{ incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 604800], values: (_u, splits, _axis, _space, incr) => splits.map((v) => (incr >= 86_400 ? day(v * 1000) : time(v * 1000))) }, { size: 60, values: (_u, splits) => splits.map((v) => num(v, 2)) }],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width > 0) {
            this.zoomed = true;
            this.onZoom?.(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'));
          }
        }],
      },
    };
    this.plot = new uPlot(opts, [[], ...series.map(() => [])], parent);
    sync.sub(this.plot);
    this.plot.root.addEventListener('dblclick', () => {
      this.zoomed = false;
    });
  }

  setData(x: readonly number[], ys: readonly (readonly (number | null)[])[]): void {
    this.plot.setData([x as number[], ...(ys as (number | null)[][])], !this.zoomed);
  }

  zoom(min: number, max: number): void {
    this.zoomed = true;
    this.plot.setScale('x', { min, max });
  }

  resize(width: number): void {
    this.plot.setSize({ width: Math.max(300, width), height: 200 });
  }

  destroy(): void {
    this.plot.destroy();
  }
}
