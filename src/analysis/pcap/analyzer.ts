/**
 * Offline (and live) TCP analysis of a packet stream: connection tracking keyed like
 * Wireshark's conversations, per-packet verdicts from seq-analysis.ts, per-connection reports,
 * a per-second timeline, top talkers and findings. Feed it packets with `add()`, then `finish()`.
 *
 * Memory is bounded by live connections: closed connections idle for CLOSED_EXPIRY_S and any
 * connection idle for IDLE_EXPIRY_S (capture time) are folded into the totals and dropped; the
 * report lists at most `maxConnections` of them (the most troubled first).
 */
import { formatIpv6 } from '../../model/address.js';
import { decodeFrame, newDecodedTcp, TH_ACK, TH_FIN, TH_RST, TH_SYN } from './decode.js';
import type { DecodedTcp } from './decode.js';
import type { RawPacket } from '../../model/packet.js';
import {
  Connection, H_ACK, H_DATA, H_FIN, H_RETRANS, H_RST, H_SYN, H_SYNACK, H_ZERO_WINDOW, isoTime, round3,
} from './connection.js';
import type { Side } from './connection.js';
import { ConnTable } from './conn-table.js';
import { buildFindings } from './findings.js';
import type { FindingInputs } from './findings.js';
import type {
  AnalysisReport, AnalysisSummary, ConnectionReport, FailedHandshake, TalkerJson, TimelineBucket,
} from './report-types.js';
import {
  A_ANY_RETRANSMISSION, A_DUPLICATE_ACK, A_FAST_RETRANSMISSION, A_KEEP_ALIVE, A_LOST_PACKET, A_OUT_OF_ORDER,
  A_SPURIOUS_RETRANSMISSION, A_ZERO_WINDOW, analyzeSegment, noteHandshakeTiming,
} from './seq-analysis.js';
import { BoundedStats } from './stats.js';

/**
 * A closed connection (FIN both ways, or RST) is forgotten after TIME-WAIT's 60 s of capture time
 * (TCP_TIMEWAIT_LEN, include/net/tcp.h): later packets on its ports are a new connection then.
 */
const CLOSED_EXPIRY_S = 60;
/**
 * At most this many closed connections wait out their 60 s; beyond it the oldest are folded in
 * early, so memory stays bounded on captures with very high connection rates. (Wireshark keeps
 * every conversation; a stray retransmission after this point would start a new connection.)
 */
const MAX_CLOSED_RETAINED = 4096;
/** Any connection silent for 15 minutes of capture time is forgotten. */
const IDLE_EXPIRY_S = 900;
/** Sweep for expired connections every this many packets. */
const SWEEP_EVERY_PACKETS = 65_536;
/**
 * Per-host tables (talkers, retransmissions per peer) hold at most this many hosts; when full,
 * the smaller half is dropped (heavy hitters stay, their counts exact from their first packet
 * on), so memory does not grow with the number of distinct addresses.
 */
const MAX_HOSTS_TRACKED = 8192;
/** One bucket per second of capture: a day of seconds at most (hostile timestamps included). */
const MAX_TIMELINE_BUCKETS = 86_400;
const MAX_FAILED_LISTED = 200;
const MAX_SERVICES_TRACKED = 8192;

export interface AnalyzerOptions {
  /** How many connections the report lists (the most interesting ones). */
  readonly maxConnections?: number;
  readonly topTalkers?: number;
  /** Called for every packet with its analysis flags (A_*), e.g. to print a summary line. */
  readonly onVerdict?: (packet: RawPacket<Buffer>, tcp: DecodedTcp | null, flags: number) => void;
}

interface PeerRetrans {
  dataSegments: number;
  retransmissions: number;
}

interface ServiceSyn {
  syn: number;
  completed: number;
  refused: number;
  sources: Set<string>;
  sourcePorts: number;
}

export class TcpAnalyzer {
  private readonly tcp = newDecodedTcp();
  private readonly conns = new ConnTable();
  private nextStream = 0;
  packets = 0;
  tcpPackets = 0;
  bytes = 0;
  private firstSec = -1;
  private firstNsec = 0;
  private lastSec = 0;
  private lastNsec = 0;
  private sinceSweep = 0;
  private readonly summary: AnalysisSummary = {
    connections: 0, syn: 0, synAck: 0, fin: 0, rst: 0, retransmissions: 0, fastRetransmissions: 0,
    spuriousRetransmissions: 0, duplicateAcks: 0, zeroWindows: 0, outOfOrder: 0, lostSegments: 0, keepAlives: 0,
    handshakesCompleted: 0, handshakesFailed: 0, payloadBytes: 0,
  };
  private readonly connStates: Record<string, number> = {};
  private readonly timeline = new Map<number, TimelineBucket>();
  private readonly talkers = new Map<string, TalkerJson>();
  private readonly listed: ConnectionReport[] = [];
  private readonly failed: FailedHandshake[] = [];
  private readonly handshakeRtt = new BoundedStats(4096);
  private readonly dataRtt = new BoundedStats(4096);
  private readonly peers = new Map<string, PeerRetrans>();
  private readonly services = new Map<string, ServiceSyn>();
  private readonly stalls: Array<{ id: number; client: string; server: string; stallMs: number; zeroWindows: number }> = [];
  /** The aggregates the findings were built from, once finish() ran (the diagnosis engine's capture facts). */
  findingInputs: FindingInputs | null = null;
  private readonly maxConnections: number;
  /** Closed connections in the order they closed, with their keys (a queue; head index below). */
  private closedQueue: Connection[] = [];
  private closedHead = 0;
  /** Retired connections kept for reuse (see Connection.init). */
  private readonly pool: Connection[] = [];
  /** Interest of the least interesting listed connection once the listing is full. */
  private listedFloor = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: AnalyzerOptions = {}) {
    this.maxConnections = options.maxConnections ?? 1000;
  }

  /** Analyse one captured frame. */
  add(p: RawPacket<Buffer>): void {
    this.packets++;
    this.bytes += p.origLen;
    const sec = p.tsSec;
    const nsec = p.tsNsec;
    if (this.firstSec < 0) {
      this.firstSec = sec;
      this.firstNsec = nsec;
    }
    this.lastSec = sec;
    this.lastNsec = nsec;
    const bucket = this.bucket(sec);
    if (bucket !== null) {
      bucket.packets++;
      bucket.bytes += p.origLen;
    }
    const t = this.tcp;
    const kind = decodeFrame(p.linkType, p.buf, p.offset, p.capLen, p.origLen, t);
    if (kind !== 'tcp') {
      this.options.onVerdict?.(p, null, 0);
      return;
    }
    this.tcpPackets++;
    const flags = t.flags;
    const srcAddr = t.family === 4 ? t.src4 : t.src6;
    const dstAddr = t.family === 4 ? t.dst4 : t.dst6;
    const srcKey = t.family === 4 ? t.src4 * 65536 + t.srcPort : `${t.src6}.${t.srcPort}`;
    const dstKey = t.family === 4 ? t.dst4 * 65536 + t.dstPort : `${t.dst6}.${t.dstPort}`;
    let conn = this.conns.get(srcKey, dstKey);
    let fromA = true;
    if (conn !== undefined) {
      fromA = conn.aKey === srcKey;
      const fwd = fromA ? conn.a : conn.b;
      // A SYN with a new ISN on a known 4-tuple is a new connection (port reuse), as Wireshark does.
      if ((flags & (TH_SYN | TH_ACK)) === TH_SYN && fwd.seq.baseSeqSet && t.seq !== fwd.seq.baseSeq) {
        this.retire(conn);
        this.conns.delete(conn);
        conn = undefined;
      }
    }
    if (conn === undefined) {
      const srcText = this.formatAddress(srcAddr, t.family);
      const dstText = this.formatAddress(dstAddr, t.family);
      const reused = this.pool.pop();
      conn = reused === undefined
        ? new Connection(this.nextStream++, t.family, srcText, t.srcPort, dstText, t.dstPort, sec, nsec)
        : reused.init(this.nextStream++, t.family, srcText, t.srcPort, dstText, t.dstPort, sec, nsec);
      conn.aKey = srcKey;
      conn.bKey = dstKey;
      this.conns.add(conn);
      fromA = true;
    }
    this.onSegment(conn, fromA, t, p, sec, nsec, bucket);
    if (conn.closed && !conn.queuedClosed) {
      conn.queuedClosed = true;
      this.closedQueue.push(conn);
      if (this.closedQueue.length - this.closedHead > MAX_CLOSED_RETAINED) this.expireClosed(sec);
    }
    if (++this.sinceSweep >= SWEEP_EVERY_PACKETS) this.sweep();
  }

  private formatAddress(addr: number | string, family: 4 | 6): string {
    if (family === 4) {
      const n = addr as number;
      return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    }
    return formatIpv6(Buffer.from(addr as string, 'hex'));
  }

  private onSegment(conn: Connection, fromA: boolean, t: DecodedTcp, p: RawPacket<Buffer>, sec: number, nsec: number, bucket: TimelineBucket | null): void {
    const fwd: Side = fromA ? conn.a : conn.b;
    const rev: Side = fromA ? conn.b : conn.a;
    const flags = t.flags;
    const analysed = analyzeSegment(conn.seqState, fwd.seq, rev.seq, t.seq, t.ack, t.seglen, flags, t.window, sec, nsec);
    if (t.headerLen < 20) {
      // A bogus header length: Wireshark's analysis has already updated the sequence state, but
      // the dissector gives up before it shows flags or verdicts, so neither is counted here.
      conn.lastSec = sec;
      conn.lastNsec = nsec;
      fwd.packets++;
      this.options.onVerdict?.(p, t, 0);
      return;
    }
    const ta = analysed;
    noteHandshakeTiming(conn.seqState, flags, sec, nsec);
    conn.lastSec = sec;
    conn.lastNsec = nsec;
    fwd.packets++;
    fwd.payloadBytes += t.seglen;
    this.summary.payloadBytes += t.seglen;

    const syn = (flags & TH_SYN) !== 0;
    const ack = (flags & TH_ACK) !== 0;
    if (syn) {
      if (t.mss >= 0) fwd.mss = t.mss;
      if (t.windowScale >= 0) fwd.windowScale = t.windowScale;
      if (t.sackPermitted) fwd.sackPermitted = true;
      if (t.timestamps) fwd.timestamps = true;
      if (!ack) {
        conn.decideRole(fromA);
        this.summary.syn++;
        if (bucket !== null) bucket.syn++;
        conn.synCount++;
        // The handshake RTT runs from the most recent SYN (a retransmitted one included), as
        // Wireshark's tcp.analysis.initial_rtt does (ts_mru_syn).
        if (!conn.handshakeDone) {
          conn.synSec = sec;
          conn.synNsec = nsec;
        }
        conn.mark(fromA, H_SYN);
      } else {
        conn.decideRole(!fromA);
        this.summary.synAck++;
        if (bucket !== null) bucket.synAck++;
        conn.mark(fromA, H_SYNACK);
      }
    } else if (ack && !conn.handshakeDone && fromA === conn.aIsClient && (conn.client.historyBits & H_SYN) !== 0 && (conn.server.historyBits & H_SYNACK) !== 0) {
      conn.handshakeDone = true;
      if (conn.synSec >= 0) {
        conn.handshakeRttNs = (sec - conn.synSec) * 1e9 + (nsec - conn.synNsec);
        this.handshakeRtt.add(conn.handshakeRttNs / 1e6);
      }
    }
    if (ack && !syn && t.seglen === 0 && (flags & (TH_FIN | TH_RST)) === 0) conn.mark(fromA, H_ACK);
    if (t.seglen > 0) conn.mark(fromA, H_DATA);
    if ((flags & TH_FIN) !== 0) {
      fwd.fins++;
      this.summary.fin++;
      if (bucket !== null) bucket.fin++;
      conn.mark(fromA, H_FIN);
      if (conn.a.fins > 0 && conn.b.fins > 0) conn.closed = true;
    }
    if ((flags & TH_RST) !== 0) {
      fwd.resets++;
      this.summary.rst++;
      if (bucket !== null) bucket.rst++;
      conn.resetBy ??= fromA ? 'a' : 'b';
      conn.mark(fromA, H_RST);
      conn.closed = true;
    }

    // Zero-window stalls: how long a side kept its window shut.
    if (t.window === 0 && (flags & (TH_SYN | TH_FIN | TH_RST)) === 0) {
      if (fwd.zeroWindowSinceSec < 0) {
        fwd.zeroWindowSinceSec = sec;
        fwd.zeroWindowSinceNsec = nsec;
      }
      const stall = (sec - fwd.zeroWindowSinceSec) * 1e9 + (nsec - fwd.zeroWindowSinceNsec);
      if (stall > fwd.maxZeroWindowNs) fwd.maxZeroWindowNs = stall;
      conn.mark(fromA, H_ZERO_WINDOW);
    } else if (t.window !== 0) {
      fwd.zeroWindowSinceSec = -1;
    }

    if (ta !== 0) this.count(conn, fromA, ta, t, bucket);
    this.sampleRtt(conn, fwd, rev, t, ta, sec, nsec);
    this.options.onVerdict?.(p, t, ta);
  }

  private count(conn: Connection, fromA: boolean, ta: number, t: DecodedTcp, bucket: TimelineBucket | null): void {
    const s = this.summary;
    if ((ta & A_ANY_RETRANSMISSION) !== 0) {
      conn.retransmissions++;
      s.retransmissions++;
      if (bucket !== null) bucket.retransmissions++;
      if (t.seglen > 0) conn.mark(fromA, H_RETRANS);
      if ((ta & A_FAST_RETRANSMISSION) !== 0) {
        conn.fastRetransmissions++;
        s.fastRetransmissions++;
      }
      if ((ta & A_SPURIOUS_RETRANSMISSION) !== 0) {
        conn.spuriousRetransmissions++;
        s.spuriousRetransmissions++;
      }
      const peer = this.peer(fromA ? conn.bAddress : conn.aAddress);
      peer.retransmissions++;
    }
    if ((ta & A_DUPLICATE_ACK) !== 0) {
      conn.duplicateAcks++;
      s.duplicateAcks++;
    }
    if ((ta & A_ZERO_WINDOW) !== 0) {
      conn.zeroWindows++;
      s.zeroWindows++;
    }
    if ((ta & A_OUT_OF_ORDER) !== 0) {
      conn.outOfOrder++;
      s.outOfOrder++;
    }
    if ((ta & A_LOST_PACKET) !== 0) {
      conn.lostSegments++;
      s.lostSegments++;
    }
    if ((ta & A_KEEP_ALIVE) !== 0) {
      conn.keepAlives++;
      s.keepAlives++;
    }
  }

  /** RTT from a data segment to the first ACK that covers it; retransmitted data is not sampled (Karn). */
  private sampleRtt(conn: Connection, fwd: Side, rev: Side, t: DecodedTcp, ta: number, sec: number, nsec: number): void {
    if (t.seglen > 0) {
      if ((ta & A_ANY_RETRANSMISSION) !== 0 || (ta & A_OUT_OF_ORDER) !== 0) {
        fwd.pendingCount = 0; // ambiguous from here on (Karn)
      } else {
        fwd.addPending((t.seq + t.seglen) >>> 0, sec, nsec);
      }
      const peer = this.peer(fwd === conn.a ? conn.bAddress : conn.aAddress);
      peer.dataSegments++;
    }
    if ((t.flags & TH_ACK) !== 0 && rev.pendingCount > 0) {
      const rttNs = rev.ackPending(t.ack, sec, nsec);
      if (rttNs >= 0) {
        conn.rtt.add(rttNs / 1e6);
        this.dataRtt.add(rttNs / 1e6);
      }
    }
  }

  private peer(address: string): PeerRetrans {
    let peer = this.peers.get(address);
    if (peer === undefined) {
      if (this.peers.size >= MAX_HOSTS_TRACKED) pruneHalf(this.peers, (p) => p.retransmissions * 1e6 + p.dataSegments);
      peer = { dataSegments: 0, retransmissions: 0 };
      this.peers.set(address, peer);
    }
    return peer;
  }

  private bucket(sec: number): TimelineBucket | null {
    let b = this.timeline.get(sec);
    if (b === undefined) {
      if (this.timeline.size >= MAX_TIMELINE_BUCKETS) return null;
      b = { t: sec, syn: 0, synAck: 0, fin: 0, rst: 0, retransmissions: 0, packets: 0, bytes: 0 };
      this.timeline.set(sec, b);
    }
    return b;
  }

  private release(conn: Connection): void {
    if (this.pool.length < 1024) this.pool.push(conn);
  }

  /** Retire closed connections past TIME-WAIT, and the oldest beyond MAX_CLOSED_RETAINED. */
  private expireClosed(nowSec: number): void {
    const q = this.closedQueue;
    while (this.closedHead < q.length) {
      const head = q[this.closedHead]!;
      const over = q.length - this.closedHead > MAX_CLOSED_RETAINED;
      if (!over && nowSec - head.lastSec <= CLOSED_EXPIRY_S) break;
      this.closedHead++;
      // Only if it is still in the table (a new SYN may have replaced it, a sweep retired it).
      if (this.conns.has(head)) {
        this.retire(head);
        this.conns.delete(head);
        this.release(head);
      }
    }
    if (this.closedHead > 1024 && this.closedHead * 2 > q.length) {
      this.closedQueue = q.slice(this.closedHead);
      this.closedHead = 0;
    }
  }

  /** Fold expired connections into the totals so memory follows the live ones. */
  private sweep(): void {
    this.sinceSweep = 0;
    this.expireClosed(this.lastSec);
    const expired: Connection[] = [];
    for (const conn of this.conns.values()) {
      const idleS = this.lastSec - conn.lastSec;
      if ((conn.closed && idleS > CLOSED_EXPIRY_S) || idleS > IDLE_EXPIRY_S) expired.push(conn);
    }
    for (const conn of expired) {
      this.retire(conn);
      this.conns.delete(conn);
      // Not pooled: the closed queue may still hold it (expireClosed checks the table first).
    }
  }

  /** A connection is done: account it and keep its report if it is among the most interesting. */
  private retire(conn: Connection): void {
    // Built from the connection's own fields: a full report object is made only for the
    // connections the listing keeps (fewer short-lived objects on captures with many connections).
    const state = conn.connState();
    const client = conn.client;
    const server = conn.server;
    const clientAddress = conn.aIsClient ? conn.aAddress : conn.bAddress;
    const clientPort = conn.aIsClient ? conn.aPort : conn.bPort;
    const serverAddress = conn.aIsClient ? conn.bAddress : conn.aAddress;
    const serverPort = conn.aIsClient ? conn.bPort : conn.aPort;
    this.summary.connections++;
    this.connStates[state] = (this.connStates[state] ?? 0) + 1;
    const clientSyn = (client.historyBits & H_SYN) !== 0;
    if (conn.handshakeDone) this.summary.handshakesCompleted++;
    else if (clientSyn) {
      this.summary.handshakesFailed++;
      if (this.failed.length < MAX_FAILED_LISTED) {
        this.failed.push({ id: conn.id, client: { address: clientAddress, port: clientPort }, server: { address: serverAddress, port: serverPort }, state, history: conn.history, synCount: conn.synCount, start: isoTime(conn.firstSec, conn.firstNsec) });
      }
    }
    if (clientSyn) {
      const key = `${serverAddress} ${serverPort}`;
      let svc = this.services.get(key);
      if (svc === undefined && this.services.size < MAX_SERVICES_TRACKED) {
        svc = { syn: 0, completed: 0, refused: 0, sources: new Set(), sourcePorts: 0 };
        this.services.set(key, svc);
      }
      if (svc !== undefined) {
        svc.syn += conn.synCount;
        svc.sourcePorts++;
        if (conn.handshakeDone) svc.completed++;
        if (state === 'REJ') svc.refused++;
        if (svc.sources.size < 10_000) svc.sources.add(clientAddress);
      }
    }
    const stallNs = Math.max(client.maxZeroWindowNs, server.maxZeroWindowNs);
    if (stallNs > 0) {
      this.stalls.push({ id: conn.id, client: `${clientAddress}:${clientPort}`, server: `${serverAddress}:${serverPort}`, stallMs: round3(stallNs / 1e6), zeroWindows: conn.zeroWindows });
      if (this.stalls.length > 200) {
        this.stalls.sort((x, y) => y.stallMs - x.stallMs);
        this.stalls.length = 100;
      }
    }
    this.addTalker(clientAddress, client.packets, client.payloadBytes);
    this.addTalker(serverAddress, server.packets, server.payloadBytes);
    const score = connectionInterest(conn, state);
    if (this.listed.length >= this.maxConnections && score < this.listedFloor) return;
    this.listed.push(conn.toReport());
    if (this.listed.length >= this.maxConnections * 2) this.trimListed();
  }

  private addTalker(address: string, packets: number, bytes: number): void {
    let t = this.talkers.get(address);
    if (t === undefined) {
      if (this.talkers.size >= MAX_HOSTS_TRACKED) pruneHalf(this.talkers, (x) => x.bytes + x.packets);
      t = { address, packets: 0, bytes: 0 };
      this.talkers.set(address, t);
    }
    t.packets += packets;
    t.bytes += bytes;
  }

  private trimListed(): void {
    this.listed.sort((x, y) => interest(y) - interest(x) || x.id - y.id);
    this.listed.length = Math.min(this.listed.length, this.maxConnections);
    const last = this.listed.at(-1);
    if (this.listed.length >= this.maxConnections && last !== undefined) this.listedFloor = interest(last);
  }

  /** Close every live connection and build the report. */
  finish(meta: { file: string | null; format: string | null; linkTypes: string[] }): AnalysisReport {
    for (const conn of this.conns.values()) this.retire(conn);
    this.conns.clear();
    this.closedQueue = [];
    this.closedHead = 0;
    if (this.listed.length > this.maxConnections) this.trimListed();
    const connections = [...this.listed].sort((x, y) => x.id - y.id);
    const durationS = this.firstSec < 0 ? 0 : round3(((this.lastSec - this.firstSec) * 1e9 + (this.lastNsec - this.firstNsec)) / 1e9);
    const topTalkers = [...this.talkers.values()].sort((x, y) => y.bytes - x.bytes || y.packets - x.packets).slice(0, this.options.topTalkers ?? 10);
    const inputs: FindingInputs = {
      summary: this.summary,
      durationS,
      services: [...this.services.entries()].map(([key, s]) => {
        const [address = '', port = '0'] = key.split(' ');
        return { address, port: Number(port), syn: s.syn, completed: s.completed, refused: s.refused, sources: s.sources.size, sourcePorts: s.sourcePorts };
      }),
      peers: [...this.peers.entries()].map(([address, p]) => ({ address, ...p })),
      stalls: this.stalls,
      peakSynPerSecond: Math.max(0, ...[...this.timeline.values()].map((b) => b.syn)),
    };
    this.findingInputs = inputs;
    return {
      file: meta.file,
      format: meta.format,
      linkTypes: meta.linkTypes,
      packets: this.packets,
      tcpPackets: this.tcpPackets,
      bytes: this.bytes,
      firstPacket: this.firstSec < 0 ? null : isoTime(this.firstSec, this.firstNsec),
      lastPacket: this.firstSec < 0 ? null : isoTime(this.lastSec, this.lastNsec),
      durationS,
      summary: { ...this.summary },
      connStates: { ...this.connStates },
      connectionsListed: connections.length,
      connections,
      rtt: { handshakeMs: this.handshakeRtt.summary(3), dataMs: this.dataRtt.summary(3) },
      timeline: [...this.timeline.values()].sort((x, y) => x.t - y.t),
      topTalkers,
      failedHandshakes: this.failed,
      findings: buildFindings(inputs),
      error: null,
    };
  }

  /** Connections currently tracked (for tests of the memory bound). */
  get liveConnections(): number {
    return this.conns.size;
  }
}

/** Drop the lower-scoring half of a bounded per-host table. */
function pruneHalf<V>(map: Map<string, V>, score: (v: V) => number): void {
  const entries = [...map.entries()].sort((x, y) => score(y[1]) - score(x[1]));
  map.clear();
  for (const [k, v] of entries.slice(0, entries.length >> 1)) map.set(k, v);
}

/** How much a connection deserves a place in a truncated listing: trouble first, then size. */
function interestScore(trouble: number, state: string, payloadBytes: number): number {
  const failed = state === 'S0' || state === 'REJ' || state.startsWith('RST') ? 1 : 0;
  return trouble * 1000 + failed * 500 + Math.log2(1 + payloadBytes);
}

function interest(c: ConnectionReport): number {
  const trouble = c.retransmissions + c.duplicateAcks + c.zeroWindows + c.outOfOrder + c.lostSegments + c.resets.client + c.resets.server;
  return interestScore(trouble, c.state, c.payloadBytes.client + c.payloadBytes.server);
}

function connectionInterest(c: Connection, state: string): number {
  const trouble = c.retransmissions + c.duplicateAcks + c.zeroWindows + c.outOfOrder + c.lostSegments + c.a.resets + c.b.resets;
  return interestScore(trouble, state, c.a.payloadBytes + c.b.payloadBytes);
}
