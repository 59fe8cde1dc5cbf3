/**
 * Deltas and per-second rates between two counter snapshots, and the retransmission ratio
 * (RetransSegs / OutSegs, the share of sent segments that were retransmissions; RFC 4022
 * tcpRetransSegs and tcpOutSegs).
 */
import { isMonotonicCounter } from '../model/counters.js';
import type { Counters } from '../model/counters.js';

export interface CounterDelta {
  readonly intervalMs: number;
  readonly deltas: Counters;
  readonly rates: Counters;
  /** Over the interval; null when nothing was sent. */
  readonly retransRatio: number | null;
}

export function retransRatio(retransSegs: number | undefined, outSegs: number | undefined): number | null {
  if (retransSegs === undefined || outSegs === undefined || outSegs <= 0) return null;
  return retransSegs / outSegs;
}

export function counterDelta(previous: Counters, current: Counters, intervalMs: number): CounterDelta {
  const deltas: Counters = {};
  const rates: Counters = {};
  const seconds = intervalMs / 1000;
  for (const [name, value] of Object.entries(current)) {
    const before = previous[name];
    if (before === undefined || !isMonotonicCounter(name)) continue;
    // Counters are unsigned longs; a smaller value means a wrap or a namespace reset: skip it.
    const delta = value >= before ? value - before : 0;
    deltas[name] = delta;
    rates[name] = seconds > 0 ? Math.round((delta / seconds) * 100) / 100 : 0;
  }
  return { intervalMs, deltas, rates, retransRatio: retransRatio(deltas.RetransSegs, deltas.OutSegs) };
}

/**
 * The counters that moved between two readings, as nstat shows them: a counter whose delta is
 * not zero, a gauge (CurrEstab, sockstat) whose value changed, a name that appeared.
 */
export function movedCounters(previous: Counters, current: Counters): Set<string> {
  const moved = new Set<string>();
  for (const [name, value] of Object.entries(current)) {
    if (previous[name] !== value) moved.add(name);
  }
  return moved;
}
