/**
 * Learned baselines: what is usual for one metric in one scope, from robust statistics over a
 * sliding history, so a rule can say "four times the usual" without a hand-set number.
 *
 * Samples are averaged into buckets (a minute by default) and the last `historyBuckets` bucket
 * means are kept; the baseline is their median and median absolute deviation (MAD). Median and
 * MAD are not moved by the few outliers that a mean and a standard deviation chase (Hampel's
 * filter; 1.4826 x MAD estimates sigma for normal data), and they are recomputed only when a
 * bucket closes, so evaluating a thousand instances per second costs a lookup each.
 * Until `warmupBuckets` buckets exist the baseline is unknown and a baseline rule does not
 * judge. With `hourOfWeek`, each hour of the week (UTC) keeps its own bucket means and is used
 * once it has warmed up (Monday 09:00 is compared with earlier Mondays at 09:00).
 * The whole store serialises to JSON for the state file and comes back after a restart.
 */

export interface BaselineOptions {
  readonly bucketMs: number;
  readonly historyBuckets: number;
  readonly warmupBuckets: number;
  readonly hourOfWeek: boolean;
  /** Series kept at most (each is a metric in one scope); more are not learned. */
  readonly maxSeries: number;
}

export interface BaselineStats {
  readonly median: number;
  readonly mad: number;
  /** Bucket means the figures come from. */
  readonly samples: number;
}

interface OpenBucket {
  startMs: number;
  sum: number;
  count: number;
}

interface Series {
  /** Closed bucket means, oldest first. */
  means: number[];
  /** Hour of week (0 = Monday 00:00 UTC) -> its bucket means, oldest first. */
  hours: Map<number, number[]>;
  open: OpenBucket | null;
  stats: BaselineStats | null;
  hourStats: Map<number, BaselineStats>;
}

/** What the state file holds per series. */
export interface SeriesState {
  readonly means: readonly number[];
  readonly hours?: Readonly<Record<string, readonly number[]>>;
}

export interface BaselineState {
  readonly version: 1;
  readonly bucketMs: number;
  readonly series: Readonly<Record<string, SeriesState>>;
}

const HOUR_MS = 3_600_000;
/** 1970-01-01 was a Thursday: shift so that hour 0 is Monday 00:00 UTC. */
const EPOCH_HOUR_OF_WEEK = 3 * 24;

export function hourOfWeek(atMs: number): number {
  return (Math.floor(atMs / HOUR_MS) + EPOCH_HOUR_OF_WEEK) % 168;
}

/** Median of a non-empty array (sorted in place). */
function medianOf(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

export function robustStats(values: readonly number[]): BaselineStats | null {
  if (values.length === 0) return null;
  const median = medianOf([...values]);
  const mad = medianOf(values.map((v) => Math.abs(v - median)));
  return { median, mad, samples: values.length };
}

export class BaselineStore {
  private readonly series = new Map<string, Series>();
  private droppedSeries = 0;

  constructor(readonly options: BaselineOptions) {}

  /** Series not learned because maxSeries was reached. */
  get dropped(): number {
    return this.droppedSeries;
  }

  get size(): number {
    return this.series.size;
  }

  has(key: string): boolean {
    return this.series.has(key);
  }

  /** Learn one sample. Returns false when the series is not tracked (the cap was reached). */
  observe(key: string, value: number, atMs: number): boolean {
    if (!Number.isFinite(value)) return false;
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= this.options.maxSeries) {
        this.droppedSeries += 1;
        return false;
      }
      s = { means: [], hours: new Map(), open: null, stats: null, hourStats: new Map() };
      this.series.set(key, s);
    }
    const start = atMs - (atMs % this.options.bucketMs);
    if (s.open !== null && s.open.startMs !== start) this.close(s);
    if (s.open === null) s.open = { startMs: start, sum: 0, count: 0 };
    s.open.sum += value;
    s.open.count += 1;
    return true;
  }

  /** The usual for this series at this time; null while it warms up. */
  stats(key: string, atMs: number): BaselineStats | null {
    const s = this.series.get(key);
    if (s === undefined) return null;
    if (s.open !== null && atMs - s.open.startMs >= this.options.bucketMs) this.close(s);
    if (this.options.hourOfWeek) {
      const hour = s.hourStats.get(hourOfWeek(atMs));
      if (hour !== undefined && hour.samples >= this.options.warmupBuckets) return hour;
    }
    return s.stats !== null && s.stats.samples >= this.options.warmupBuckets ? s.stats : null;
  }

  private close(s: Series): void {
    const open = s.open;
    if (open === null || open.count === 0) return;
    s.open = null;
    const mean = open.sum / open.count;
    s.means.push(mean);
    if (s.means.length > this.options.historyBuckets) s.means.splice(0, s.means.length - this.options.historyBuckets);
    s.stats = robustStats(s.means);
    if (this.options.hourOfWeek) {
      const hour = hourOfWeek(open.startMs);
      const list = s.hours.get(hour) ?? [];
      list.push(mean);
      // Per hour, keep as many buckets as one hour holds times four weeks.
      const keep = Math.max(1, Math.round((4 * HOUR_MS) / this.options.bucketMs));
      if (list.length > keep) list.splice(0, list.length - keep);
      s.hours.set(hour, list);
      const stats = robustStats(list);
      if (stats !== null) s.hourStats.set(hour, stats);
    }
  }

  /**
   * Everything learned, for the state file: the closed buckets. The open one is left open (closing
   * it at every save would split a bucket in two); a restart loses at most that one bucket.
   */
  toState(): BaselineState {
    const series: Record<string, SeriesState> = {};
    for (const [key, s] of this.series) {
      series[key] = this.options.hourOfWeek ? { means: [...s.means], hours: Object.fromEntries([...s.hours].map(([h, v]) => [String(h), [...v]])) } : { means: [...s.means] };
    }
    return { version: 1, bucketMs: this.options.bucketMs, series };
  }

  /**
   * What a state file held. Buckets of another size would mix figures of different
   * resolution: such a state is ignored (returns false) and learning starts over.
   */
  load(state: BaselineState): boolean {
    if (state.version !== 1 || state.bucketMs !== this.options.bucketMs) return false;
    for (const [key, saved] of Object.entries(state.series)) {
      if (this.series.size >= this.options.maxSeries) break;
      const means = saved.means.filter((v) => Number.isFinite(v)).slice(-this.options.historyBuckets);
      const hours = new Map<number, number[]>();
      const hourStats = new Map<number, BaselineStats>();
      for (const [h, values] of Object.entries(saved.hours ?? {})) {
        const hour = Number(h);
        if (!Number.isInteger(hour) || hour < 0 || hour >= 168) continue;
        const list = values.filter((v) => Number.isFinite(v));
        hours.set(hour, list);
        const stats = robustStats(list);
        if (stats !== null) hourStats.set(hour, stats);
      }
      this.series.set(key, { means, hours, open: null, stats: robustStats(means), hourStats });
    }
    return true;
  }
}
