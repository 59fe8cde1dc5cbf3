/**
 * Small bounded statistics: min/avg/max plus a p95 from a fixed-size reservoir, so a
 * connection with a million RTT samples costs the same memory as one with a hundred.
 */

/**
 * Reservoir size of every RTT statistic in a report (per connection and for the whole
 * capture): one size and one percentile rule, so the same samples give the same p95 wherever
 * they are summarised. Exact up to this many samples; the reservoir grows only as samples come.
 */
export const RTT_RESERVOIR = 4096;

/** Nearest-rank percentile of sorted values: the smallest value with at least p% of samples at or below it. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? null;
}

export class BoundedStats {
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  /** Allocated on the first sample: most connections of a big capture never get one. */
  private reservoir: number[] | null = null;
  /** Deterministic pseudo-random state for reservoir sampling (reproducible reports). */
  private rng = 0x2545f491;

  constructor(private readonly capacity = 256) {}

  /** Empty it for reuse (keeps the reservoir's storage). */
  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    if (this.reservoir !== null) this.reservoir.length = 0;
    this.rng = 0x2545f491;
  }

  add(value: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.reservoir ??= [];
    if (this.reservoir.length < this.capacity) {
      this.reservoir.push(value);
      return;
    }
    // Algorithm R (Vitter): keep each of the n samples with probability capacity / n.
    this.rng ^= this.rng << 13;
    this.rng ^= this.rng >>> 17;
    this.rng ^= this.rng << 5;
    const j = (this.rng >>> 0) % this.count;
    if (j < this.capacity) this.reservoir[j] = value;
  }

  percentile(p: number): number | null {
    if (this.reservoir === null || this.reservoir.length === 0) return null;
    return nearestRank([...this.reservoir].sort((a, b) => a - b), p);
  }

  summary(digits = 3): { samples: number; min: number; avg: number; max: number; p95: number } | null {
    if (this.count === 0) return null;
    const round = (v: number): number => Number(v.toFixed(digits));
    return {
      samples: this.count,
      min: round(this.min),
      avg: round(this.sum / this.count),
      max: round(this.max),
      p95: round(this.percentile(95) ?? this.max),
    };
  }
}
