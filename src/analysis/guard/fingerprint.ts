/**
 * Per-source fingerprints from successive socket tables: who connects to this host's listeners,
 * how many of their handshakes complete, how many connections each holds at once, for how long,
 * how much they move and how long they sit idle. Pure: tables and times in, numbers out.
 *
 * What the socket table shows and why it is enough for these numbers:
 * - A SYN to a listener creates a request socket (TCP_NEW_SYN_RECV, shown as SYN_RECV) that
 *   lives until the client's ACK completes the handshake or the SYN-ACK retransmissions give up
 *   (tcp_synack_retries, 5 by default: about 63 s; tcp_conn_request() and inet_csk_reqsk_queue
 *   in net/ipv4/). A source whose request sockets never turn into connections is not answering
 *   our SYN-ACKs: a spoofed address, or a flood tool that drops them.
 * - Once the ACK arrives the connection is a full socket whose local port is the listener's;
 *   tcp_info gives bytes_acked/bytes_received (RFC 4898 tcpEStatsAppHCThruOctets*) and
 *   tcpi_last_data_recv, the milliseconds since data last arrived (idle time).
 * - Connections opened and closed between two tables are not seen; tables every few hundred
 *   milliseconds catch what holds a listener's resources (half-open and idle connections),
 *   which is what the verdicts are about.
 */
import type { TcpSocket } from '../../model/socket.js';
import type { SourceMetrics } from '../../model/guard.js';

export interface FingerprintOptions {
  /** An open connection idle this long (and under idleMaxBytes) counts as idle. */
  readonly idleMs: number;
  readonly idleMaxBytes: number;
  /** Only connections to these listener ports (null: every listener). */
  readonly ports: ReadonlySet<number> | null;
}

export interface SourceFingerprint {
  readonly address: string;
  readonly family: 4 | 6;
  readonly listeners: readonly string[];
  readonly metrics: SourceMetrics;
  /** Seen with one connection only, which never completed (the mark of a spoofed address). */
  readonly seenOnce: boolean;
}

export interface FingerprintResult {
  readonly startMs: number;
  readonly endMs: number;
  readonly snapshots: number;
  readonly sources: readonly SourceFingerprint[];
  /** The most request sockets at one moment, over every source. */
  readonly halfOpenMax: number;
}

interface Conn {
  readonly listener: string;
  readonly preexisting: boolean;
  readonly firstMs: number;
  lastMs: number;
  completed: boolean;
  /** The table it was last seen in: open means seen in the last one. */
  seenIn: number;
  bytes: number | null;
  idleMs: number | null;
}

interface Source {
  readonly address: string;
  readonly family: 4 | 6;
  /** By remote port and local port (remotePort * 65536 + localPort): a source's connections to one host. */
  readonly conns: Map<number, Conn>;
  halfOpenMax: number;
  concurrentMax: number;
  perListenerMax: number;
  busiestListener: string | null;
  // Counts within the table numbered `table`, reset lazily when a new table first touches it.
  table: number;
  halfOpenNow: number;
  concurrentNow: number;
  readonly perListenerNow: Map<string, number>;
}

/** ::ffff:a.b.c.d (an IPv4 peer of a dual-stack listener) is the IPv4 address a.b.c.d. */
export function sourceAddress(address: string): { address: string; family: 4 | 6 } {
  if (address.startsWith('::ffff:') && address.includes('.')) return { address: address.slice(7), family: 4 };
  return { address, family: address.includes(':') ? 6 : 4 };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

export class SourceTracker {
  private readonly sources = new Map<string, Source>();
  /** "address:port" of each local end, made once (a table repeats the same few). */
  private readonly listenerNames = new Map<string, string>();
  private startMs: number | null = null;
  private lastMs = 0;
  private snapshots = 0;
  private halfOpenMax = 0;

  constructor(private readonly options: FingerprintOptions) {}

  private listenerName(address: string, port: number): string {
    const raw = `${address}:${port}`;
    let name = this.listenerNames.get(raw);
    if (name === undefined) {
      name = `${sourceAddress(address).address}:${port}`;
      this.listenerNames.set(raw, name);
    }
    return name;
  }

  /** One socket table taken at `atMs` (wall clock). */
  add(atMs: number, sockets: readonly TcpSocket[]): void {
    const first = this.startMs === null;
    if (first) this.startMs = atMs;
    this.lastMs = atMs;
    const table = ++this.snapshots;
    // Listening ports of this table: a connection whose local port listens is an accepted one.
    const listening = new Set<number>();
    for (const s of sockets) if (s.state === 'LISTEN' && (this.options.ports === null || this.options.ports.has(s.local.port))) listening.add(s.local.port);
    const touched: Source[] = [];
    let halfOpenTotal = 0;
    for (const s of sockets) {
      if (s.state === 'LISTEN' || s.state === 'TIME_WAIT' || !listening.has(s.local.port)) continue;
      const { address, family } = sourceAddress(s.remote.address);
      let source = this.sources.get(address);
      if (source === undefined) {
        source = { address, family, conns: new Map(), halfOpenMax: 0, concurrentMax: 0, perListenerMax: 0, busiestListener: null, table: 0, halfOpenNow: 0, concurrentNow: 0, perListenerNow: new Map() };
        this.sources.set(address, source);
      }
      if (source.table !== table) {
        source.table = table;
        source.halfOpenNow = 0;
        source.concurrentNow = 0;
        source.perListenerNow.clear();
        touched.push(source);
      }
      const key = s.remote.port * 65536 + s.local.port;
      let conn = source.conns.get(key);
      if (conn === undefined) {
        conn = { listener: this.listenerName(s.local.address, s.local.port), preexisting: first, firstMs: atMs, lastMs: atMs, completed: false, seenIn: table, bytes: null, idleMs: null };
        source.conns.set(key, conn);
      }
      conn.lastMs = atMs;
      conn.seenIn = table;
      if (s.state === 'SYN_RECV') {
        source.halfOpenNow++;
        halfOpenTotal++;
        continue;
      }
      conn.completed = true;
      const info = s.tcpInfo;
      if (info !== null) {
        conn.bytes = (info.bytesReceived ?? 0) + (info.bytesAcked ?? 0);
        conn.idleMs = info.lastReceiveMs;
      }
      source.concurrentNow++;
      source.perListenerNow.set(conn.listener, (source.perListenerNow.get(conn.listener) ?? 0) + 1);
    }
    this.halfOpenMax = Math.max(this.halfOpenMax, halfOpenTotal);
    for (const source of touched) {
      source.halfOpenMax = Math.max(source.halfOpenMax, source.halfOpenNow);
      source.concurrentMax = Math.max(source.concurrentMax, source.concurrentNow);
      for (const [listener, n] of source.perListenerNow) {
        if (n > source.perListenerMax) {
          source.perListenerMax = n;
          source.busiestListener = listener;
        }
      }
    }
  }

  result(): FingerprintResult {
    const startMs = this.startMs ?? 0;
    const windowS = Math.max(0.001, (this.lastMs - startMs) / 1000);
    const out: SourceFingerprint[] = [];
    for (const source of this.sources.values()) {
      let completed = 0;
      let halfOpenOnly = 0;
      let newConnections = 0;
      let bytesSum = 0;
      let bytesCount = 0;
      let idleConnections = 0;
      const lifetimes: number[] = [];
      const idle: number[] = [];
      const listeners = new Set<string>();
      for (const c of source.conns.values()) {
        listeners.add(c.listener);
        if (!c.preexisting) newConnections++;
        if (c.completed) completed++;
        else halfOpenOnly++;
        lifetimes.push(c.lastMs - c.firstMs);
        if (c.completed && c.bytes !== null) {
          bytesSum += c.bytes;
          bytesCount++;
        }
        if (c.seenIn === this.snapshots && c.completed && c.idleMs !== null) {
          idle.push(c.idleMs);
          if (c.idleMs >= this.options.idleMs && (c.bytes ?? 0) <= this.options.idleMaxBytes) idleConnections++;
        }
      }
      const seen = completed + halfOpenOnly;
      out.push({
        address: source.address,
        family: source.family,
        listeners: [...listeners].sort(),
        seenOnce: seen === 1 && completed === 0,
        metrics: {
          synPerS: Math.round((newConnections / windowS) * 100) / 100,
          connections: seen,
          newConnections,
          completed,
          halfOpenOnly,
          completionRatio: seen === 0 ? null : Math.round((completed / seen) * 1000) / 1000,
          halfOpenMax: source.halfOpenMax,
          concurrentMax: source.concurrentMax,
          perListenerMax: source.perListenerMax,
          busiestListener: source.busiestListener,
          lifetimeMsMedian: median(lifetimes),
          bytesPerConnection: bytesCount === 0 ? null : Math.round(bytesSum / bytesCount),
          idleMsMedian: median(idle),
          idleConnections,
        },
      });
    }
    return { startMs, endMs: this.lastMs, snapshots: this.snapshots, sources: out, halfOpenMax: this.halfOpenMax };
  }
}
