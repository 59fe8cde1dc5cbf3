/**
 * The RTT histogram of /metrics (`tcpdiag_rtt_seconds`): every socket table read adds the
 * smoothed RTT (tcp_info tcpi_rtt, include/uapi/linux/tcp.h) of each ESTABLISHED socket as one
 * observation, so `rate(tcpdiag_rtt_seconds_bucket[5m])` is the distribution of connections'
 * RTTs over the window, weighted by how long each connection lived.
 */
import type { TcpSocket } from '../../model/socket.js';

/**
 * Bucket bounds in seconds: loopback sits at tens of µs, a LAN at a fraction of a ms, other
 * regions at 10-100 ms; the brief's alarm is at 100 ms.
 */
export const RTT_BUCKETS_S = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

export interface RttHistogramValue {
  /** Cumulative count per bound of RTT_BUCKETS_S (Prometheus's `le`), without +Inf (that is `count`). */
  readonly buckets: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export class RttHistogram {
  private readonly buckets = new Array<number>(RTT_BUCKETS_S.length).fill(0);
  private sum = 0;
  private count = 0;

  observeSockets(sockets: readonly TcpSocket[]): void {
    for (const s of sockets) {
      if (s.state !== 'ESTABLISHED' || s.tcpInfo === null) continue;
      this.observe(s.tcpInfo.rttMs / 1000);
    }
  }

  observe(seconds: number): void {
    for (let i = RTT_BUCKETS_S.length - 1; i >= 0 && seconds <= RTT_BUCKETS_S[i]!; i--) this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }

  get value(): RttHistogramValue {
    return { buckets: [...this.buckets], sum: this.sum, count: this.count };
  }
}

export interface RttPercentiles {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** The sockets they are taken over. */
  readonly sockets: number;
}

/**
 * The 50th, 90th and 99th percentiles (nearest rank: the smallest value with at least p% of the
 * sockets at or below it) of the smoothed RTT (tcpi_rtt) of one socket table's ESTABLISHED
 * sockets; null when none has tcp_info. Exact, not from the histogram's buckets: a table is at
 * most a few hundred thousand sockets, sorted in tens of ms in the collection's own tick.
 */
export function rttPercentiles(sockets: readonly TcpSocket[]): RttPercentiles | null {
  const rtts: number[] = [];
  for (const s of sockets) if (s.state === 'ESTABLISHED' && s.tcpInfo !== null) rtts.push(s.tcpInfo.rttMs);
  if (rtts.length === 0) return null;
  const sorted = Float64Array.from(rtts).sort();
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50Ms: rank(50), p90Ms: rank(90), p99Ms: rank(99), sockets: sorted.length };
}
