/**
 * Verifying a fix: compare this run with an earlier `tcpdiag bench --json` result against
 * thresholds for response time (p50 and p99), throughput and error rate, and say pass or
 * regressed: baseline against current, each figure against its threshold.
 * Pure apart from reading the baseline file.
 */
import * as z from 'zod/mini';
import { MalformedInputError } from '../../errors.js';
import { FILE_LIMITS } from '../../model/limits.js';
import { readBoundedFile } from '../../platform/read-file.js';

export interface BaselineThresholds {
  /** Response time may grow by at most this many percent (p50 and p99). */
  readonly latencyPct: number;
  /** Requests per second may drop by at most this many percent. */
  readonly throughputPct: number;
  /** The error rate may rise by at most this many percentage points. */
  readonly errorRatePoints: number;
  /** Server CPU per request may grow by at most this many percent (when both runs measured it). */
  readonly cpuPct: number;
}

export const DEFAULT_THRESHOLDS: BaselineThresholds = { latencyPct: 20, throughputPct: 10, errorRatePoints: 1, cpuPct: 20 };

/** The fields of a --json result that the comparison reads; everything else is ignored. */
// zod/mini, as the config schema: the full build costs ~73 ms to load.
const nonNegative = () => z.number().check(z.nonnegative());
const BaselineSchema = z.object({
  requests: nonNegative(),
  errors: z.record(z.string(), nonNegative()),
  latencyMs: z.object({ p50: nonNegative(), p99: nonNegative() }),
  requestsPerSecond: nonNegative(),
  cpu: z.optional(z.nullable(z.object({ serverUsPerRequest: z.nullable(nonNegative()) }))),
});

export type BaselineFigures = z.infer<typeof BaselineSchema>;

export interface BaselineCheck {
  readonly metric: 'latency p50' | 'latency p99' | 'requests/s' | 'error rate' | 'server cpu/request';
  readonly unit: 'ms' | 'req/s' | '%' | 'µs';
  readonly baseline: number;
  readonly current: number;
  /** Change in the direction that is worse, as the threshold counts it (percent or points). */
  readonly worseBy: number;
  readonly threshold: number;
  readonly ok: boolean;
}

export interface BaselineComparison {
  readonly file: string;
  readonly verdict: 'pass' | 'regressed';
  readonly thresholds: BaselineThresholds;
  readonly checks: readonly BaselineCheck[];
}

export async function readBaseline(path: string): Promise<BaselineFigures> {
  const text = (await readBoundedFile(path, FILE_LIMITS.baseline, 'baseline')).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    throw new MalformedInputError(`baseline ${path}`, `not JSON (${error instanceof Error ? error.message : String(error)})`, undefined,
      'write the baseline with `tcpdiag bench ... --json > baseline.json`');
  }
  const parsed = BaselineSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // zod/mini carries no message text: say what was expected from the issue itself.
    const expected = issue?.code === 'invalid_type' ? `expected ${issue.expected}` : issue?.code === 'too_small' ? 'expected a value >= 0' : 'not allowed';
    const where = issue === undefined ? '' : `${issue.path.join('.') || '(top level)'}: ${expected}`;
    throw new MalformedInputError(`baseline ${path}`, `not a bench --json result (${where})`, undefined,
      'write the baseline with `tcpdiag bench ... --json > baseline.json`');
  }
  return parsed.data;
}

function errorRatePct(figures: { readonly requests: number; readonly errors: Partial<Record<string, number>> }): number {
  if (figures.requests === 0) return 0;
  let failed = 0;
  for (const n of Object.values(figures.errors)) failed += n ?? 0;
  return (failed / figures.requests) * 100;
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** Relative growth in percent; growth from 0 counts as infinitely worse only if the value moved. */
function growthPct(baseline: number, current: number): number {
  if (baseline === 0) return current === 0 ? 0 : Number.POSITIVE_INFINITY;
  return ((current - baseline) / baseline) * 100;
}

/** What the comparison reads from this run (a BenchReport has all of it). */
export interface CurrentFigures {
  readonly requests: number;
  readonly errors: Partial<Record<string, number>>;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  readonly requestsPerSecond: number;
  readonly cpu?: { readonly serverUsPerRequest: number | null } | null;
}

export function compareWithBaseline(
  file: string,
  baseline: BaselineFigures,
  current: CurrentFigures,
  thresholds: BaselineThresholds = DEFAULT_THRESHOLDS,
): BaselineComparison {
  const checks: BaselineCheck[] = [];
  const latency = (metric: 'latency p50' | 'latency p99', b: number, c: number): void => {
    const worseBy = growthPct(b, c);
    checks.push({ metric, unit: 'ms', baseline: b, current: c, worseBy: round(worseBy), threshold: thresholds.latencyPct, ok: worseBy <= thresholds.latencyPct });
  };
  latency('latency p50', baseline.latencyMs.p50, current.latencyMs.p50);
  latency('latency p99', baseline.latencyMs.p99, current.latencyMs.p99);
  const drop = -growthPct(baseline.requestsPerSecond, current.requestsPerSecond);
  checks.push({
    metric: 'requests/s', unit: 'req/s', baseline: baseline.requestsPerSecond, current: current.requestsPerSecond,
    worseBy: round(drop), threshold: thresholds.throughputPct, ok: drop <= thresholds.throughputPct,
  });
  const baseRate = errorRatePct(baseline);
  const curRate = errorRatePct(current);
  checks.push({
    metric: 'error rate', unit: '%', baseline: round(baseRate), current: round(curRate),
    worseBy: round(curRate - baseRate), threshold: thresholds.errorRatePoints, ok: curRate - baseRate <= thresholds.errorRatePoints,
  });
  const baseCpu = baseline.cpu?.serverUsPerRequest ?? null;
  const curCpu = current.cpu?.serverUsPerRequest ?? null;
  if (baseCpu !== null && curCpu !== null) {
    const worseBy = growthPct(baseCpu, curCpu);
    checks.push({
      metric: 'server cpu/request', unit: 'µs', baseline: baseCpu, current: curCpu,
      worseBy: round(worseBy), threshold: thresholds.cpuPct, ok: worseBy <= thresholds.cpuPct,
    });
  }
  return { file, verdict: checks.every((c) => c.ok) ? 'pass' : 'regressed', thresholds, checks };
}

export function renderBaselineText(comparison: BaselineComparison): string {
  const lines = [`baseline ${comparison.file}: ${comparison.verdict.toUpperCase()}`];
  for (const c of comparison.checks) {
    const limit = c.metric === 'error rate' ? `+${c.threshold} points` : `${c.threshold}%`;
    const change = c.metric === 'error rate' ? `${c.worseBy >= 0 ? '+' : ''}${c.worseBy} points` : `${c.worseBy >= 0 ? '+' : ''}${c.worseBy}% worse`;
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.metric}: ${c.baseline} -> ${c.current} ${c.unit} (${change}, limit ${limit})`);
  }
  return lines.join('\n') + '\n';
}
