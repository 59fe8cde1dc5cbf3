/**
 * Aggregations over the event stream: `trace states --stats` (every socket's current state and
 * how long it has been in it, plus transition counts) and `trace retrans --interval S` (global
 * counters and per-connection SYN / data retransmission counts, like tcp-retrans). Pure: the
 * caller passes in the socket table and counters it read.
 */
import type { AddressFamily, Endpoint, TcpSocket } from '../../model/socket.js';
import type { TcpState } from '../../model/tcp-state.js';
import type { DropEvent, RetransmitEvent } from './events.js';
import type { TrackedSocket } from './tracker.js';

/** Linux holds TIME-WAIT for 60 s (TCP_TIMEWAIT_LEN, include/net/tcp.h). */
const TIME_WAIT_MS = 60_000;

export interface SocketStateRow {
  readonly family: AddressFamily;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly state: TcpState;
  /** Time in the current state, or null when it started before the trace (see `known`). */
  readonly inStateMs: number | null;
  /** How inStateMs is known: "traced" (we saw the transition), "timer" (TIME_WAIT's 60 s timer), or "unknown: before trace start (>= N ms)". */
  readonly known: string;
}

export interface StateStatsReport {
  readonly type: 'stats';
  readonly ts: number;
  readonly tracedForMs: number;
  readonly byState: Record<string, number>;
  readonly transitions: Record<string, number>;
  readonly sockets: readonly SocketStateRow[];
}

export function tupleKey(family: AddressFamily, la: string, lp: number, ra: string, rp: number): string {
  return `${family}|${la}|${lp}|${ra}|${rp}`;
}

/**
 * `handovers`: FIN_WAIT2 sockets that passed to a TIME_WAIT mini-socket (tracker.ts), which the
 * table lists in FIN_WAIT2; a live tracked socket with the same 4-tuple takes precedence.
 */
export function buildStateStats(
  table: readonly TcpSocket[],
  tracked: ReadonlyMap<number, TrackedSocket>,
  transitions: ReadonlyMap<string, number>,
  nowNs: number,
  startNs: number,
  wallNowMs: number,
  handovers: ReadonlyMap<number, TrackedSocket> = new Map(),
): StateStatsReport {
  const byTuple = new Map<string, TrackedSocket>();
  for (const sock of handovers.values()) {
    byTuple.set(tupleKey(sock.family, sock.localAddress, sock.localPort, sock.remoteAddress, sock.remotePort), sock);
  }
  for (const sock of tracked.values()) {
    byTuple.set(tupleKey(sock.family, sock.localAddress, sock.localPort, sock.remoteAddress, sock.remotePort), sock);
  }
  const tracedForMs = round3((nowNs - startNs) / 1e6);
  const byState: Record<string, number> = {};
  const sockets: SocketStateRow[] = [];
  for (const s of table) {
    byState[s.state] = (byState[s.state] ?? 0) + 1;
    const t = byTuple.get(tupleKey(s.family, s.local.address, s.local.port, s.remote.address, s.remote.port));
    let inStateMs: number | null = null;
    let known = `unknown: in ${s.state} since before the trace started (>= ${tracedForMs} ms)`;
    if (t !== undefined && stateMatches(t.state, s.state)) {
      inStateMs = round3((nowNs - t.sinceNs) / 1e6);
      known = 'traced';
    } else if (s.state === 'TIME_WAIT' && s.timer.kind === 'timewait' && s.timer.expiresMs !== null) {
      inStateMs = Math.max(0, TIME_WAIT_MS - s.timer.expiresMs);
      known = 'timer';
    }
    sockets.push({ family: s.family, local: s.local, remote: s.remote, state: s.state, inStateMs, known });
  }
  return { type: 'stats', ts: Math.round(wallNowMs), tracedForMs, byState, transitions: Object.fromEntries(transitions), sockets };
}

function stateMatches(kernelState: number, state: TcpState): boolean {
  const names: Record<number, TcpState> = { 1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT', 7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING' };
  return names[kernelState] === state;
}

export interface RetransConnectionRow {
  readonly family: AddressFamily;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly syn: number;
  readonly synack: number;
  readonly data: number;
  /** Attempts that did not go out (any kind): not in syn, synack or data. */
  readonly failed: number;
}

export interface RetransReport {
  readonly type: 'retrans-report';
  readonly ts: number;
  readonly intervalMs: number;
  /** Kernel counter deltas over the interval (/proc/net/snmp, /proc/net/netstat). */
  readonly counters: Record<string, number>;
  /** Retransmissions traced over the interval: those that went out by kind, and failed attempts apart. */
  readonly events: { readonly data: number; readonly syn: number; readonly synack: number; readonly failed: number };
  /** Failed attempts by errno name. */
  readonly errors: Record<string, number>;
  /** Connections with at least --ignore retransmissions, most first. */
  readonly connections: readonly RetransConnectionRow[];
  readonly hiddenConnections: number;
}

/** Kernel counters the retrans report shows, as deltas (names as nstat prints them). */
export const RETRANS_COUNTERS = [
  'RetransSegs', // Tcp: every retransmitted segment (data, SYN, SYN-ACK)
  'OutSegs',
  'TCPSynRetrans', // TcpExt: SYN and SYN-ACK retransmissions
  'TCPTimeouts', // RTO expiries
  'TCPFastRetrans',
  'TCPLostRetransmit',
  'TCPSpuriousRTOs',
  'TCPDSACKRecv', // duplicate segments the peer reported (D-SACK): a sign of needless retransmits
  'TCPDSACKOldSent',
  'TCPRetransFail', // attempts that failed, except EBUSY (__tcp_retransmit_skb)
] as const;

export class RetransAggregator {
  private readonly rows = new Map<string, { family: AddressFamily; local: Endpoint; remote: Endpoint; syn: number; synack: number; data: number; failed: number }>();
  private counts = { data: 0, syn: 0, synack: 0, failed: 0 };
  private errors: Record<string, number> = {};

  add(event: RetransmitEvent): void {
    const slot = event.failed ? 'failed' : event.kind;
    this.counts[slot]++;
    if (event.error !== undefined) this.errors[event.error] = (this.errors[event.error] ?? 0) + 1;
    if (event.local === null || event.remote === null || event.family === null) return;
    const key = tupleKey(event.family, event.local.address, event.local.port, event.remote.address, event.remote.port);
    let row = this.rows.get(key);
    if (row === undefined) {
      row = { family: event.family, local: event.local, remote: event.remote, syn: 0, synack: 0, data: 0, failed: 0 };
      this.rows.set(key, row);
    }
    row[slot]++;
  }

  /** The report for the interval just ended; resets the per-interval counts. */
  report(before: Record<string, number>, after: Record<string, number>, intervalMs: number, ignore: number, wallNowMs: number): RetransReport {
    const counters: Record<string, number> = {};
    for (const name of RETRANS_COUNTERS) {
      if (after[name] !== undefined && before[name] !== undefined) counters[name] = after[name] - before[name];
    }
    const total = (r: RetransConnectionRow) => r.syn + r.synack + r.data + r.failed;
    const all = [...this.rows.values()].sort((a, b) => total(b) - total(a));
    const connections = all.filter((r) => total(r) >= ignore);
    const report: RetransReport = {
      type: 'retrans-report',
      ts: Math.round(wallNowMs),
      intervalMs: Math.round(intervalMs),
      counters,
      events: this.counts,
      errors: this.errors,
      connections,
      hiddenConnections: all.length - connections.length,
    };
    this.rows.clear();
    this.counts = { data: 0, syn: 0, synack: 0, failed: 0 };
    this.errors = {};
    return report;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** `trace drops`' summary: the drops it printed, by the kernel's reason, most first. */
export interface DropSummary {
  readonly type: 'drop-summary';
  readonly ts: number;
  readonly total: number;
  readonly reasons: Record<string, number>;
  /** Events the kernel's buffers lost: the counts are short by at least this many. */
  readonly lost: number;
}

export class DropCounter {
  private readonly byReason = new Map<string, number>();
  private total = 0;

  add(event: DropEvent): void {
    this.total++;
    this.byReason.set(event.reason, (this.byReason.get(event.reason) ?? 0) + 1);
  }

  summary(lost: number, wallNowMs: number): DropSummary {
    const reasons = Object.fromEntries([...this.byReason].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
    return { type: 'drop-summary', ts: Math.round(wallNowMs), total: this.total, reasons, lost };
  }
}
