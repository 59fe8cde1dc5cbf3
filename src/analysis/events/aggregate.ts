/**
 * The agent's event bookkeeping, pure (events and samples in, rows out; no clock, no I/O):
 * the tracker's events become totals (for /metrics), per-second counts, the abnormal events
 * kept one by one (at most `maxRecordsPerSecond`; the rest only counted as `unstored`, so a
 * reset storm cannot fill the disk) and per-minute rollups per listener, peer and remote port
 * (the service port of the connections this host opened: a connect, or a local end that is no
 * listener's). Socket samples add what events do not carry: RTT and bytes (tcp_info), per
 * listener, peer and remote port.
 */
import type { AgentEvent, EventCounter, RollupRow, SecondCount } from '../../model/agent-event.js';
import { EVENT_COUNTERS } from '../../model/agent-event.js';
import type { AddressFamily, Endpoint, TcpSocket } from '../../model/socket.js';
import { formatEndpoint } from '../../model/socket.js';
import type { TraceEvent } from '../trace/events.js';
import { classify } from './classify.js';
import { RollupAggregator } from './rollup.js';
import { PeerTotals } from './peer-totals.js';

/** The listener a local endpoint belongs to (its key), or null when it is not a listener's. */
export type ListenerOf = (family: AddressFamily, local: Endpoint) => string | null;

export interface AggregatorOptions {
  readonly slowStateMs: number;
  readonly maxRecordsPerSecond: number;
  readonly topPeers: number;
  readonly listenerOf: ListenerOf;
  readonly graceMs?: number;
}


export class EventAggregator {
  readonly totals: Record<EventCounter, number> = Object.fromEntries(EVENT_COUNTERS.map((c) => [c, 0])) as Record<EventCounter, number>;
  readonly rollups: RollupAggregator;
  /** Retransmissions and resets per peer since the start (per-peer /metrics). */
  readonly peerTotals = new PeerTotals();
  private readonly seconds = new Map<number, Map<EventCounter, number>>();
  private records: AgentEvent[] = [];
  private recordSecond = -1;
  private recordsThisSecond = 0;
  /** bytes_acked / bytes_received of each socket at its last sample, by 4-tuple. */
  private bytesSeen = new Map<string, { acked: number; received: number }>();
  private sampled = false;
  private readonly graceMs: number;

  constructor(private readonly options: AggregatorOptions) {
    this.graceMs = options.graceMs ?? 2000;
    this.rollups = new RollupAggregator({ topPeers: options.topPeers, graceMs: this.graceMs });
  }

  /** One tracker event; returns the record when it is one to keep (the stream publishes it), else null. */
  add(e: TraceEvent): AgentEvent | null {
    const { counters, record } = classify(e, this.options.slowStateMs);
    for (const c of counters) this.count(e.ts, c, 1);
    this.rollup(e);
    if (record === null) return null;
    const second = Math.floor(record.ts / 1000);
    if (second !== this.recordSecond) {
      this.recordSecond = second;
      this.recordsThisSecond = 0;
    }
    if (this.recordsThisSecond >= this.options.maxRecordsPerSecond) {
      this.count(record.ts, 'unstored', 1);
      return record;
    }
    this.recordsThisSecond++;
    this.records.push(record);
    return record;
  }

  /** Events the kernel dropped before we read them (the source's lost markers). */
  lost(atMs: number, n: number): void {
    this.count(atMs, 'lost', n);
  }

  /** A socket table read: RTT of the established sockets, bytes moved since the last read. */
  observeSockets(atMs: number, sockets: readonly TcpSocket[]): void {
    const next = new Map<string, { acked: number; received: number }>();
    const listenerOf = this.options.listenerOf;
    for (const s of sockets) {
      const info = s.tcpInfo;
      if (info === null || s.state === 'LISTEN' || s.state === 'TIME_WAIT' || s.state === 'SYN_RECV') continue;
      const peer = s.remote.address;
      const listener = listenerOf(s.family, s.local);
      if (s.state === 'ESTABLISHED') {
        this.rollups.addRtt(atMs, 'peer', peer, info.rttMs);
        if (listener !== null) this.rollups.addRtt(atMs, 'listener', listener, info.rttMs);
        else this.rollups.addRtt(atMs, 'remote-port', String(s.remote.port), info.rttMs);
      }
      if (info.bytesAcked === null || info.bytesReceived === null) continue;
      const key = `${s.local.address}|${s.local.port}|${s.remote.address}|${s.remote.port}`;
      const now = { acked: info.bytesAcked, received: info.bytesReceived };
      next.set(key, now);
      const before = this.bytesSeen.get(key);
      // A socket new since the last read moved all its bytes since then; at the first read
      // the sockets' history before the agent is not ours to count.
      const from = before ?? (this.sampled ? { acked: 0, received: 0 } : now);
      const sent = Math.max(0, now.acked - from.acked);
      const received = Math.max(0, now.received - from.received);
      if (sent === 0 && received === 0 && before !== undefined) continue;
      this.rollups.addBytes(atMs, 'peer', peer, sent, received);
      if (listener !== null) this.rollups.addBytes(atMs, 'listener', listener, sent, received);
      else this.rollups.addBytes(atMs, 'remote-port', String(s.remote.port), sent, received);
    }
    this.bytesSeen = next;
    this.sampled = true;
  }

  /** The abnormal events kept since the last call. */
  takeRecords(): AgentEvent[] {
    const out = this.records;
    this.records = [];
    return out;
  }

  /** Per-second counts of the seconds closed by `nowMs` (every one with `all`). */
  takeCounts(nowMs: number, all = false): SecondCount[] {
    const out: SecondCount[] = [];
    for (const [second, counts] of this.seconds) {
      if (!all && second * 1000 + 1000 + this.graceMs > nowMs) continue;
      this.seconds.delete(second);
      for (const [counter, n] of counts) out.push({ ts: second * 1000, counter, n });
    }
    return out;
  }

  /** Rollup rows of the minutes closed by `nowMs` (every one with `all`). */
  takeRollups(nowMs: number, all = false): RollupRow[] {
    return this.rollups.close(nowMs, all);
  }

  /** Rollup rows of the minutes not closed yet, as they stand. */
  openRollups(): RollupRow[] {
    return this.rollups.peek();
  }

  private count(atMs: number, counter: EventCounter, n: number): void {
    this.totals[counter] += n;
    const second = Math.floor(atMs / 1000);
    let counts = this.seconds.get(second);
    if (counts === undefined) {
      counts = new Map();
      this.seconds.set(second, counts);
    }
    counts.set(counter, (counts.get(counter) ?? 0) + n);
  }

  private rollup(e: TraceEvent): void {
    if (e.family === null || e.local === null || e.remote === null) return;
    const r = this.rollups;
    const peer = e.remote.address;
    // The service this host called is the remote port of a connection it opened (made into a
    // key only where it is one: state events, most of the 10^5 a second, have none).
    switch (e.type) {
      case 'connect':
        r.add(e.ts, 'peer', peer, 'opened');
        r.add(e.ts, 'remote-port', String(e.remote.port), 'opened');
        return;
      case 'accept': {
        r.add(e.ts, 'peer', peer, 'opened');
        r.add(e.ts, 'listener', this.options.listenerOf(e.family, e.listener) ?? formatEndpoint(e.listener, e.family), 'opened');
        return;
      }
      case 'close': {
        r.add(e.ts, 'peer', peer, 'closed');
        const listener = e.origin === 'active' ? null : this.options.listenerOf(e.family, e.local);
        if (listener !== null) r.add(e.ts, 'listener', listener, 'closed');
        // A connection accepted from a listener that has closed since is not an outbound one.
        else if (e.origin !== 'passive') r.add(e.ts, 'remote-port', String(e.remote.port), 'closed');
        return;
      }
      case 'connect-failed':
        r.add(e.ts, 'peer', peer, 'failed');
        r.add(e.ts, 'remote-port', String(e.remote.port), 'failed');
        return;
      case 'state': {
        if (e.oldState !== 'SYN_RECV' || e.newState !== 'CLOSE') return;
        r.add(e.ts, 'peer', peer, 'failed');
        const listener = this.options.listenerOf(e.family, e.local);
        if (listener !== null) r.add(e.ts, 'listener', listener, 'failed');
        return;
      }
      case 'reset':
      case 'retransmit': {
        if (e.type === 'retransmit' && e.failed) return;
        const field = e.type === 'reset' ? 'resets' : 'retransmits';
        r.add(e.ts, 'peer', peer, field);
        this.peerTotals.add(peer, field);
        const listener = this.options.listenerOf(e.family, e.local);
        if (listener !== null) r.add(e.ts, 'listener', listener, field);
        // A reset with no socket (state null: the answer to a segment for a port nobody holds,
        // tcp_v4_send_reset) belongs to no connection of ours, and its remote port is the
        // sender's ephemeral one, not a service.
        else if (e.state !== null) r.add(e.ts, 'remote-port', String(e.remote.port), field);
        return;
      }
      default:
        return;
    }
  }
}
