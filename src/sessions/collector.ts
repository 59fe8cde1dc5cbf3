/**
 * A periodic collector: run `tick` on a fixed schedule until the signal aborts (or `count`
 * ticks), the way `conns --watch`, `stats --interval` and the agent's collection loop need it
 * (OpenTelemetry's PeriodicExportingMetricReader is the model):
 * - ticks never overlap: the next one starts only after the previous one has settled;
 * - the schedule is a fixed grid (start + n * interval) on the monotonic clock, so a slow tick
 *   does not shift every later one; a tick that starts past its slot (the previous tick ran
 *   over, or the event loop was blocked) runs at once and is reported as an Issue with
 *   TCPDIAG_TICK_LATE saying how late and why, and slots it overran are skipped, not replayed;
 * - a tick that throws an expected error (TcpdiagError) is reported and the next tick runs;
 *   anything else is a bug and rejects the collector;
 * - its timers are unref'd (a collector alone never keeps a process alive; the agent's server
 *   does, and the CLI's watch loops ask for `keepAlive`), and waits longer than Node's timer
 *   limit (2^31 - 1 ms) are chained rather than firing at once;
 * - an abort stops the wait at once; a tick in flight gets the same signal and is awaited, so
 *   the collector's promise settles only when nothing of it runs any more;
 * - a tick may return a number of slots to let pass before the next one (a source that found
 *   nothing polled less often); they are rested, not skipped.
 */
import type { Issue } from '../model/issue.js';
import { issue, issueFromError } from '../model/issue.js';
import { TcpdiagError } from '../errors.js';

export interface TickContext {
  /** 1 for the first tick. */
  readonly n: number;
  /** When the tick was due and when it started (performance.now() ms). */
  readonly dueMs: number;
  readonly startedMs: number;
  readonly signal: AbortSignal;
}

export interface CollectorOptions {
  readonly intervalMs: number;
  readonly signal: AbortSignal;
  /** Tick at once and then every interval (a watch view); otherwise the first tick is one interval in (rates). */
  readonly immediate?: boolean;
  /** Stop after this many ticks (forever when undefined). */
  readonly count?: number | undefined;
  /** A tick starting more than this after its slot is late (default: 10% of the interval, at least 20 ms). */
  readonly lateAfterMs?: number;
  /** Hold the process open while waiting (for a CLI loop with nothing else running). */
  readonly keepAlive?: boolean;
  /** Late ticks and failed ticks, as they happen. */
  readonly onIssue: (issue: Issue) => void;
}

export interface CollectorSummary {
  readonly ticks: number;
  readonly late: number;
  /** Slots that passed while a tick was still running, and were not run. */
  readonly skipped: number;
  readonly failed: number;
}

/** Nothing, or the slots to rest before the next tick. */
export type TickResult = void | number;

/** Node clamps a timeout above this to 1 ms (timers.md: "outside that range ... set to 1"). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export async function runCollector(options: CollectorOptions, tick: (context: TickContext) => TickResult | Promise<TickResult>): Promise<CollectorSummary> {
  const { intervalMs, signal } = options;
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError(`collector interval must be a positive number of ms, got ${intervalMs}`);
  const lateAfterMs = options.lateAfterMs ?? Math.max(20, intervalMs / 10);
  const startMs = performance.now();
  let slot = options.immediate === true ? 0 : 1;
  let ticks = 0;
  let late = 0;
  let skipped = 0;
  let failed = 0;
  let previousTookMs: number | null = null;
  while (!signal.aborted && (options.count === undefined || ticks < options.count)) {
    const dueMs = startMs + slot * intervalMs;
    await waitUntil(dueMs, signal, options.keepAlive === true);
    if (signal.aborted) break;
    const startedMs = performance.now();
    const lateMs = startedMs - dueMs;
    ticks++;
    if (lateMs > lateAfterMs) {
      late++;
      const why = previousTookMs !== null && previousTookMs > intervalMs
        ? `the previous tick took ${Math.round(previousTookMs)} ms, longer than the ${formatMs(intervalMs)} interval`
        : 'the event loop was busy when it was due';
      options.onIssue(issue('TCPDIAG_TICK_LATE', `tick ${ticks} started ${Math.round(lateMs)} ms late: ${why}`,
        'a longer interval, or fewer sockets per collection (a state or port filter), keeps collections on time'));
    }
    let rest = 0;
    try {
      const result = await tick({ n: ticks, dueMs, startedMs, signal });
      if (typeof result === 'number' && Number.isInteger(result) && result > 0) rest = result;
    } catch (error: unknown) {
      if (signal.aborted) break;
      if (!(error instanceof TcpdiagError)) throw error;
      failed++;
      options.onIssue(issueFromError(error));
    }
    const endedMs = performance.now();
    previousTookMs = endedMs - startedMs;
    // The next slot on the grid that has not passed yet (after the rested ones); when this
    // tick overran slots, the first of them runs at once (reported late) and the rest are skipped.
    const wanted = slot + 1 + rest;
    const passed = Math.floor((endedMs - startMs) / intervalMs);
    const next = Math.max(wanted, passed);
    if (next > wanted) skipped += next - wanted;
    slot = next;
  }
  return { ticks, late, skipped, failed };
}

/** Resolve at `dueMs` (performance.now()), or at once when `signal` aborts; never rejects. */
function waitUntil(dueMs: number, signal: AbortSignal, keepAlive: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const arm = (): void => {
      const leftMs = dueMs - performance.now();
      if (leftMs <= 0) return done();
      timer = setTimeout(arm, Math.min(leftMs, MAX_TIMEOUT_MS));
      if (!keepAlive) timer.unref();
    };
    signal.addEventListener('abort', done, { once: true });
    arm();
  });
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
