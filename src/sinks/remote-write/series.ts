/**
 * The agent's registry values as remote-write series: the same names, labels and values a
 * scrape of /metrics gives, plus the fleet labels (`host` and the configured ones), all stamped
 * with one collection time. Pure: the registry's JSON in, series out.
 */
import type { Label, TimeSeries } from './protobuf.js';

/** What prom-client's `registry.getMetricsAsJSON()` returns, the part read here. */
export interface MetricJson {
  readonly name: string;
  readonly values: readonly { readonly value: number; readonly labels: Readonly<Record<string, string | number | undefined>>; readonly metricName?: string }[];
}

/** Prometheus's label name rule (data model): `[a-zA-Z_][a-zA-Z0-9_]*`, `__` reserved. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * One series per value. Fleet labels are set after the metric's own, so a metric label of the
 * same name (none today) cannot impersonate another host. Labels are sorted by name, as the
 * remote-write spec requires; NaN values are kept (Prometheus stores them), empty label values
 * are dropped (an empty value means "no such label" in Prometheus).
 */
export function toTimeSeries(metrics: readonly MetricJson[], fleetLabels: Readonly<Record<string, string>>, timestampMs: number): TimeSeries[] {
  const out: TimeSeries[] = [];
  const ts = Math.round(timestampMs);
  for (const metric of metrics) {
    for (const v of metric.values) {
      const labels = new Map<string, string>();
      labels.set('__name__', v.metricName ?? metric.name);
      for (const [name, value] of Object.entries(v.labels)) if (value !== undefined && value !== '') labels.set(name, String(value));
      for (const [name, value] of Object.entries(fleetLabels)) if (value !== '') labels.set(name, value);
      const sorted: Label[] = [...labels].map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      out.push({ labels: sorted, samples: [{ value: v.value, timestampMs: ts }] });
    }
  }
  return out;
}

/** Samples in an encoded collection: one per series here. */
export function sampleCount(series: readonly TimeSeries[]): number {
  return series.reduce((n, s) => n + s.samples.length, 0);
}
