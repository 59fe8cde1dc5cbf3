/**
 * Connect and response times as HDR histograms (hdr-histogram-js), recorded in microseconds
 * with 3 significant digits from 1 µs to 1 hour, so p99.9 and max are exact to 0.1% whatever
 * the spread. Histograms cross worker threads as compressed base64 and merge by addition.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

const HIGHEST_US = 3_600_000_000;

export function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

/** Record a duration in milliseconds (fractional) at microsecond resolution. */
export function recordMs(histogram: Histogram, ms: number): void {
  const us = Math.round(ms * 1000);
  histogram.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
}

export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

export function mergeEncoded(into: Histogram, encoded: string): void {
  into.add(decodeFromCompressedBase64(encoded));
}

/** The figures the --json contract names, in milliseconds. */
export interface PercentilesMs {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

export function percentilesMs(histogram: Histogram): PercentilesMs {
  const ms = (us: number): number => Math.round(us) / 1000;
  if (histogram.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 };
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
    count: histogram.totalCount,
  };
}
