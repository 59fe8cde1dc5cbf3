/**
 * The figures alert rules judge, measured between two samples of the host: the kernel's TCP
 * counters (Tcp: and TcpExt: of /proc/net/snmp and /proc/net/netstat) and the socket table
 * (sock_diag, with tcp_info when the native addon is built). Pure: the watch session reads,
 * this reduces.
 *
 * Linux has no counter of SYNs received, so syn_per_s adds up where each SYN to a listener goes
 * in tcp_conn_request() (net/ipv4/tcp_input.c): a request sock (a SYN_RECV socket not in the
 * previous sample), a SYN cookie (SyncookiesSent), a drop because the SYN queue is full
 * (TCPReqQFullDrop), or a handshake that completed between two samples (PassiveOpens counts
 * tcp_create_openreq_child() in net/ipv4/tcp_minisocks.c, cookie-validated ones too, which
 * SyncookiesRecv subtracts). A request sock that completes after being seen in a sample counts
 * twice; there are at most as many as SYN_RECV sockets in one sample.
 *
 * Linux does not count lost packets either: the retransmitted share is the sender's estimate of
 * loss (RetransSegs / OutSegs, RFC 4022; per peer, tcp_info's bytes_retrans / bytes_sent).
 * Ratios over too few segments are 0 (not judged as a problem), so one retransmission on an
 * idle host is not "100% loss". A counter that went backwards (the network namespace was
 * recreated) or a first sample makes every rate unknown for that sample: unknown never fires.
 */
import { isMonotonicCounter } from '../model/counters.js';
import type { Counters } from '../model/counters.js';
import type { TcpSocket } from '../model/socket.js';
import { formatEndpoint } from '../model/socket.js';
import type { MetricReading, MetricValues } from './engine.js';

export interface WatchSample {
  /** Wall clock (ms since the epoch) and monotonic time (performance.now()) of the sample. */
  readonly atMs: number;
  readonly monotonicMs: number;
  readonly counters: Counters | null;
  /** The socket table, request socks and TIME_WAIT included; null when it could not be read. */
  readonly sockets: readonly TcpSocket[] | null;
  /** net.ipv4.ip_local_port_range: ports a connection to one destination can use. */
  readonly portRange: readonly [number, number] | null;
}

export interface MetricOptions {
  /** Segments sent in a sample below which a retransmission ratio is 0 (not judged). */
  readonly minSegments: number;
  /** Connection attempts in a sample below which the failure share is 0. */
  readonly minAttempts: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

export function counterReset(previous: Counters, current: Counters): boolean {
  for (const [name, value] of Object.entries(current)) {
    const before = previous[name];
    if (before !== undefined && isMonotonicCounter(name) && value < before) return true;
  }
  return false;
}

/** Listener keys by family and port, the most specific address first (as the kernel's lookup prefers). */
export class ListenerIndex {
  private readonly byPort = new Map<string, TcpSocket[]>();
  readonly listeners: readonly TcpSocket[];

  constructor(sockets: readonly TcpSocket[]) {
    this.listeners = sockets.filter((s) => s.state === 'LISTEN');
    for (const l of this.listeners) {
      const key = `${l.family}/${l.local.port}`;
      const list = this.byPort.get(key) ?? [];
      list.push(l);
      this.byPort.set(key, list);
    }
  }

  /** The listener a (non-listening) socket belongs to, or null for an outgoing connection. */
  of(s: TcpSocket): TcpSocket | null {
    const candidates = this.byPort.get(`${s.family}/${s.local.port}`);
    if (candidates === undefined) return null;
    let wildcard: TcpSocket | null = null;
    for (const l of candidates) {
      if (l.local.address === s.local.address) return l;
      if (wildcard === null && WILDCARDS.has(l.local.address)) wildcard = l;
    }
    return wildcard;
  }
}

export function listenerKey(l: TcpSocket): string {
  return formatEndpoint(l.local, l.family);
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function rate(n: number, seconds: number): number {
  return seconds > 0 ? n / seconds : 0;
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** The largest value, 0 for none (a loop: spreading 60,000 values into Math.max overflows the stack). */
function maxOf(values: Iterable<number>): number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}

function percentile(values: number[], p: number): number {
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
}

const UNKNOWN: MetricReading = { host: null };

/** Every metric between two samples (`previous` null: the first sample, where only gauges are known). */
export function measure(previous: WatchSample | null, current: WatchSample, options: MetricOptions): MetricValues {
  const sockets = current.sockets;
  const table = sockets === null ? null : tableMetrics(sockets, current.portRange);
  const index = table?.index ?? null;
  const gauges = table?.gauges ?? null;
  const seconds = previous === null ? 0 : (current.monotonicMs - previous.monotonicMs) / 1000;
  const counters = previous?.counters != null && current.counters !== null && seconds > 0 && !counterReset(previous.counters, current.counters)
    ? deltas(previous.counters, current.counters)
    : null;
  // The same table twice (the agent left a read out: nothing moved) has no new socket and no segment between.
  const sameTable = previous?.sockets === sockets;
  const seen = previous?.sockets == null || sockets === null || index === null ? null : sameTable ? noNewSockets(index) : newSockets(previous.sockets, sockets, index);
  const peers = previous?.sockets == null || sockets === null ? null : sameTable ? { segments: new Map<string, number>(), bytes: new Map<string, number>() } : peerRatios(previous.sockets, sockets, options.minSegments);

  const values: MetricValues = {
    syn_recv_backlog_percent: gauges?.synRecvBacklog ?? UNKNOWN,
    close_wait: gauges?.closeWait ?? UNKNOWN,
    port_use_percent: gauges?.portUse ?? UNKNOWN,
    rtt_ms: gauges?.rtt ?? UNKNOWN,
  };
  if (counters === null || seen === null) {
    values.syn_per_s = UNKNOWN;
    values.new_connections_per_s = UNKNOWN;
    values.retrans_ratio_percent = UNKNOWN;
    values.loss_percent = UNKNOWN;
    values.connect_failure_percent = UNKNOWN;
    values.listen_overflows_per_s = UNKNOWN;
    return values;
  }
  const d = (name: string): number => counters[name] ?? 0;
  const completed = Math.max(0, d('PassiveOpens') - d('SyncookiesRecv'));
  values.syn_per_s = {
    host: rate(completed + seen.newRequestSocks + d('SyncookiesSent') + d('TCPReqQFullDrop'), seconds),
    listener: perSecond(seen.synByListener, seconds),
  };
  values.new_connections_per_s = {
    host: rate(d('ActiveOpens') + d('PassiveOpens'), seconds),
    listener: perSecond(seen.childrenByListener, seconds),
  };
  const out = d('OutSegs');
  const ratio = out >= options.minSegments ? (100 * d('RetransSegs')) / out : 0;
  values.retrans_ratio_percent = { host: ratio, ...(peers === null ? {} : { peer: peers.segments }) };
  values.loss_percent = { host: ratio, ...(peers === null ? {} : { peer: peers.bytes }) };
  const attempts = d('ActiveOpens');
  values.connect_failure_percent = { host: attempts >= options.minAttempts ? (100 * d('AttemptFails')) / attempts : 0 };
  const overflows = rate(d('ListenOverflows'), seconds);
  const full = new Map<string, number>();
  for (const l of index?.listeners ?? []) full.set(listenerKey(l), l.recvQ > l.sendQ ? overflows : 0);
  values.listen_overflows_per_s = { host: overflows, listener: full };
  return values;
}

function perSecond(counts: ReadonlyMap<string, number>, seconds: number): Map<string, number> {
  return new Map([...counts].map(([k, v]) => [k, rate(v, seconds)]));
}

function deltas(previous: Counters, current: Counters): Counters {
  const out: Counters = {};
  for (const [name, value] of Object.entries(current)) {
    const before = previous[name];
    if (before !== undefined && isMonotonicCounter(name)) out[name] = value - before;
  }
  return out;
}

interface SocketGauges {
  readonly synRecvBacklog: MetricReading;
  readonly closeWait: MetricReading;
  readonly portUse: MetricReading;
  readonly rtt: MetricReading;
}

function socketGauges(sockets: readonly TcpSocket[], index: ListenerIndex, portRange: readonly [number, number] | null): SocketGauges {
  const synRecv = new Map<string, number>();
  const closeWait = new Map<string, number>();
  const ports = new Map<string, number>();
  const rtts = new Map<string, number[]>();
  const allRtts: number[] = [];
  let closeWaitTotal = 0;
  for (const l of index.listeners) {
    synRecv.set(listenerKey(l), 0);
    closeWait.set(listenerKey(l), 0);
  }
  const [low, high] = portRange ?? [0, -1];
  for (const s of sockets) {
    if (s.state === 'LISTEN') continue;
    if (s.state === 'SYN_RECV' || s.state === 'CLOSE_WAIT') {
      const l = index.of(s);
      if (s.state === 'CLOSE_WAIT') closeWaitTotal += 1;
      if (l !== null) add(s.state === 'SYN_RECV' ? synRecv : closeWait, listenerKey(l), 1);
    }
    if (portRange !== null && s.local.port >= low && s.local.port <= high && s.state !== 'SYN_RECV') add(ports, formatEndpoint(s.remote, s.family), 1);
    if (s.state === 'ESTABLISHED' && s.tcpInfo !== null) {
      allRtts.push(s.tcpInfo.rttMs);
      const list = rtts.get(s.remote.address) ?? [];
      list.push(s.tcpInfo.rttMs);
      rtts.set(s.remote.address, list);
    }
  }
  const backlog = new Map<string, number>();
  for (const l of index.listeners) {
    // A listener's send queue is its backlog as the kernel applies it (sk_max_ack_backlog, net/ipv4/tcp_diag.c).
    if (l.sendQ > 0) backlog.set(listenerKey(l), (100 * (synRecv.get(listenerKey(l)) ?? 0)) / l.sendQ);
  }
  const size = portRange === null ? 0 : high - low + 1;
  const portUse = new Map([...ports].map(([k, n]) => [k, size > 0 ? (100 * n) / size : 0]));
  const rttByPeer = new Map([...rtts].map(([k, v]) => [k, median(v)]));
  return {
    synRecvBacklog: { host: maxOf(backlog.values()), listener: backlog },
    closeWait: { host: closeWaitTotal, listener: closeWait },
    portUse: portRange === null ? UNKNOWN : { host: maxOf(portUse.values()), peer: portUse },
    rtt: allRtts.length === 0 ? { host: 0, peer: rttByPeer } : { host: percentile(allRtts, 90), peer: rttByPeer },
  };
}

interface TableMetrics {
  readonly portRange: readonly [number, number] | null;
  readonly index: ListenerIndex;
  readonly gauges: SocketGauges;
}

/** A table's listeners and gauges, worked out once per table (an unchanged table is judged again every sample). */
const tableCache = new WeakMap<readonly TcpSocket[], TableMetrics>();

function tableMetrics(sockets: readonly TcpSocket[], portRange: readonly [number, number] | null): TableMetrics {
  const cached = tableCache.get(sockets);
  if (cached !== undefined && cached.portRange?.[0] === portRange?.[0] && cached.portRange?.[1] === portRange?.[1]) return cached;
  const index = new ListenerIndex(sockets);
  const metrics = { portRange, index, gauges: socketGauges(sockets, index, portRange) };
  tableCache.set(sockets, metrics);
  return metrics;
}

function noNewSockets(index: ListenerIndex): NewSockets {
  const zero = new Map(index.listeners.map((l) => [listenerKey(l), 0]));
  return { newRequestSocks: 0, synByListener: zero, childrenByListener: new Map(zero) };
}

interface NewSockets {
  readonly newRequestSocks: number;
  readonly synByListener: ReadonlyMap<string, number>;
  readonly childrenByListener: ReadonlyMap<string, number>;
}

/** Sockets of this sample whose kernel cookie the previous one did not have, per listener. */
function newSockets(before: readonly TcpSocket[], after: readonly TcpSocket[], index: ListenerIndex): NewSockets {
  const known = new Set<string>();
  for (const s of before) if (s.cookie !== null) known.add(s.cookie);
  let newRequestSocks = 0;
  const syn = new Map<string, number>();
  const children = new Map<string, number>();
  for (const l of index.listeners) {
    syn.set(listenerKey(l), 0);
    children.set(listenerKey(l), 0);
  }
  for (const s of after) {
    if (s.state === 'LISTEN' || s.state === 'TIME_WAIT' || s.cookie === null || known.has(s.cookie)) continue;
    const l = index.of(s);
    if (s.state === 'SYN_RECV') newRequestSocks += 1;
    if (l === null) continue;
    add(syn, listenerKey(l), 1);
    if (s.state !== 'SYN_RECV') add(children, listenerKey(l), 1);
  }
  return { newRequestSocks, synByListener: syn, childrenByListener: children };
}

/** Per peer address: retransmitted share of segments and of bytes sent between the samples, from tcp_info. */
function peerRatios(before: readonly TcpSocket[], after: readonly TcpSocket[], minSegments: number): { segments: Map<string, number>; bytes: Map<string, number> } {
  const earlier = new Map<string, TcpSocket>();
  for (const s of before) if (s.cookie !== null && s.tcpInfo !== null) earlier.set(s.cookie, s);
  const sums = new Map<string, { segs: number; retrans: number; bytes: number; bytesRetrans: number }>();
  for (const s of after) {
    if (s.cookie === null || s.tcpInfo === null) continue;
    const prev = earlier.get(s.cookie)?.tcpInfo;
    if (prev == null) continue;
    const info = s.tcpInfo;
    const segs = (info.segsOut ?? 0) - (prev.segsOut ?? 0);
    if (segs <= 0) continue;
    const entry = sums.get(s.remote.address) ?? { segs: 0, retrans: 0, bytes: 0, bytesRetrans: 0 };
    entry.segs += segs;
    entry.retrans += Math.max(0, info.totalRetrans - prev.totalRetrans);
    entry.bytes += Math.max(0, (info.bytesSent ?? 0) - (prev.bytesSent ?? 0));
    entry.bytesRetrans += Math.max(0, (info.bytesRetrans ?? 0) - (prev.bytesRetrans ?? 0));
    sums.set(s.remote.address, entry);
  }
  const segments = new Map<string, number>();
  const bytes = new Map<string, number>();
  for (const [peer, e] of sums) {
    if (e.segs < minSegments) continue;
    segments.set(peer, (100 * e.retrans) / e.segs);
    bytes.set(peer, e.bytes > 0 ? (100 * e.bytesRetrans) / e.bytes : 0);
  }
  return { segments, bytes };
}
